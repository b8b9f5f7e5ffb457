//! Web sessions: the login form body, the session cookie, and checking it on requests.
//!
//! The session cookie holds the operator's API key itself (there is no server-side session
//! table): it is `HttpOnly` (scripts cannot read it), `SameSite=Strict` (other sites cannot make
//! the browser send it, which also covers CSRF on the UI's few POST routes) and `Path=/`. It has
//! no `Max-Age`, so it ends with the browser session. `Secure` is added when a TLS-terminating
//! proxy says the request came over HTTPS (`X-Forwarded-Proto: https`).

use axum::http::request::Parts;
use axum::http::HeaderMap;

use crate::api::{presented_key, SESSION_COOKIE};
use crate::auth::{verify_api_key, AuthError};
use crate::context::Context;
use netpulse_engine::model::ApiKeyRecord;
use netpulse_engine::state::StateError;

/// Why a request has no valid session.
#[derive(Debug)]
pub enum Denied {
    /// No cookie (or bearer header) at all.
    Missing,
    /// A key was presented but is not valid (revoked, malformed, from another cluster).
    Invalid,
    /// The state could not be read.
    State(StateError),
}

/// Checks the session cookie (or a bearer header) of a request.
pub fn authenticate(ctx: &Context, parts: &Parts) -> Result<ApiKeyRecord, Denied> {
    let key = presented_key(parts).ok_or(Denied::Missing)?;
    verify_key(ctx, &key)
}

/// Checks a key typed into the login form.
pub fn verify_key(ctx: &Context, key: &str) -> Result<ApiKeyRecord, Denied> {
    match verify_api_key(ctx.store(), key) {
        Ok(record) => Ok(record),
        Err(AuthError::State(e)) => Err(Denied::State(e)),
        Err(_) => Err(Denied::Invalid),
    }
}

/// Whether the request reached a TLS-terminating proxy over HTTPS.
fn over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value that logs a browser in with `key`.
///
/// `key` must be a verified API key: those consist of `[0-9a-z_]` only, so no cookie syntax can
/// be injected. Anything else yields `None`.
pub fn login_cookie(key: &str, headers: &HeaderMap) -> Option<String> {
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let secure = if over_https(headers) { "; Secure" } else { "" };
    Some(format!(
        "{SESSION_COOKIE}={key}; HttpOnly; SameSite=Strict; Path=/{secure}"
    ))
}

/// The `Set-Cookie` value that logs a browser out.
pub fn logout_cookie(headers: &HeaderMap) -> String {
    let secure = if over_https(headers) { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}")
}

/// The value of field `name` in an `application/x-www-form-urlencoded` body (first occurrence).
/// `None` when absent or not valid UTF-8 after decoding.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    body.split(|&b| b == b'&').find_map(|pair| {
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        (url_decode(k)? == name).then(|| url_decode(v)).flatten()
    })
}

/// Decodes `+` and `%XX` escapes. Malformed escapes are kept literally, as browsers do.
pub fn url_decode(s: &[u8]) -> Option<String> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                s.get(i + 1).copied().and_then(hex),
                s.get(i + 2).copied().and_then(hex),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}
