//! Shared HTTP delivery: send one request, classify the outcome, keep secrets out of errors.

use std::error::Error as _;

use super::{SendError, REDACTED};

/// How much of an error response is quoted in [`SendError`] messages.
const EXCERPT_CHARS: usize = 200;
/// How much of an error response is read at all; the rest is dropped unread.
const EXCERPT_READ_BYTES: usize = 4096;

/// Sends `request` and maps the result. Any 2xx is success. `secrets` are scrubbed from every
/// message (a service might echo a token back in its error body).
pub(crate) async fn execute<S: AsRef<str>>(
    request: reqwest::RequestBuilder,
    secrets: &[S],
) -> Result<(), SendError> {
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) => return Err(classify_error(e, secrets)),
    };
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let excerpt = read_excerpt(&mut response, secrets).await;
    let mut message = format!("HTTP {status}");
    if status.is_redirection() {
        message.push_str(": redirects are not followed; configure the final URL");
    } else if !excerpt.is_empty() {
        message.push_str(": ");
        message.push_str(&excerpt);
    }
    let message = scrub(&message, secrets);
    let code = status.as_u16();
    if status.is_server_error() || code == 408 || code == 429 {
        Err(SendError::Retryable(message))
    } else {
        Err(SendError::Permanent(message))
    }
}

/// The first bytes of the response body as one clean line, `secrets` scrubbed before it is cut
/// (a cut through a secret would leave a prefix the scrubber no longer recognises).
async fn read_excerpt<S: AsRef<str>>(response: &mut reqwest::Response, secrets: &[S]) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < EXCERPT_READ_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(EXCERPT_READ_BYTES);
    let text = String::from_utf8_lossy(&bytes);
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    super::truncate_chars(&scrub(&one_line, secrets), EXCERPT_CHARS)
}

/// Transport failures: timeouts and connection problems are worth retrying; a request that
/// could not even be built is not.
fn classify_error<S: AsRef<str>>(e: reqwest::Error, secrets: &[S]) -> SendError {
    let builder = e.is_builder();
    let redirect = e.is_redirect();
    let message = describe(e, secrets);
    if builder || redirect {
        SendError::Permanent(message)
    } else {
        SendError::Retryable(message)
    }
}

/// A readable message from a reqwest error chain without the URL (which may carry a token, as
/// Telegram's does) and with `secrets` scrubbed.
pub(crate) fn describe<S: AsRef<str>>(e: reqwest::Error, secrets: &[S]) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_builder() {
        "request could not be built"
    } else if e.is_body() || e.is_request() {
        "request failed"
    } else {
        "error"
    };
    let e = e.without_url();
    let mut parts = vec![kind.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    scrub(&parts.join(": "), secrets)
}

/// Replaces every occurrence of each secret with `********`.
pub(crate) fn scrub<S: AsRef<str>>(message: &str, secrets: &[S]) -> String {
    let mut out = message.to_string();
    for s in secrets.iter().map(AsRef::as_ref).filter(|s| s.len() >= 4) {
        out = out.replace(s, REDACTED);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_replaces_secrets() {
        assert_eq!(
            scrub("bad token abcd1234 in abcd1234", &["abcd1234"]),
            "bad token ******** in ********"
        );
        // Very short "secrets" would shred ordinary words; they are skipped.
        assert_eq!(scrub("a b", &["a"]), "a b");
    }
}
