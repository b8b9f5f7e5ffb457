//! Generic webhook: the [`Alert`] as JSON, signed with HMAC-SHA256.
//!
//! This is the channel for everything NetPulse does not know natively, so its format is a
//! public contract (see `docs/alerts.md`): the body is exactly `serde_json` of [`Alert`], and
//! the headers are
//!
//! - `Content-Type: application/json`
//! - `User-Agent: NetPulse/<version>`
//! - `X-NetPulse-Event: <event>` (e.g. `monitor.down`)
//! - `Idempotency-Key: <alert.idempotency_key>` (identical on retries of the same alert)
//! - `X-NetPulse-Signature: sha256=<hex>` when a secret is configured: lowercase hex
//!   HMAC-SHA256 with the secret as key over the exact body bytes ([`sign`]).

use std::net::SocketAddr;

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;

use super::fields::{field_error, http_url};
use super::{
    http, redacted_debug, Channel, ChannelConfigError, Example, Fields, SendError, Transport,
    REDACTED,
};
use crate::message::Alert;

/// Shortest accepted signing secret: shorter ones can be brute-forced from one signed body.
pub const MIN_SECRET_LEN: usize = 16;

/// Header carrying the event name.
pub const EVENT_HEADER: &str = "X-NetPulse-Event";
/// Header carrying the body signature.
pub const SIGNATURE_HEADER: &str = "X-NetPulse-Signature";
/// Header carrying the idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// Configuration of a generic webhook.
#[derive(Clone, PartialEq, Serialize)]
pub struct WebhookConfig {
    /// Where to POST (http or https).
    pub url: String,
    /// HMAC key for `X-NetPulse-Signature`; optional but recommended, at least 16 bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

redacted_debug!(WebhookConfig);

impl Channel for WebhookConfig {
    const SECRET_FIELDS: &'static [&'static str] = &["secret"];

    fn parse(f: &mut Fields) -> Result<Self, ChannelConfigError> {
        let url = f.string("url")?;
        http_url("url", &url)?;
        let secret = f.opt_string("secret")?;
        if let Some(s) = &secret {
            if s.len() < MIN_SECRET_LEN {
                return Err(field_error(
                    "secret",
                    format!("must be at least {MIN_SECRET_LEN} characters"),
                ));
            }
        }
        Ok(Self { url, secret })
    }

    /// The URL's password and query string may carry credentials too, so both are masked;
    /// scheme, host and path stay visible so operators recognise the endpoint.
    fn redacted(&self) -> Value {
        let mut v = super::redact_fields(
            serde_json::to_value(self).unwrap_or(Value::Null),
            Self::SECRET_FIELDS,
        );
        let shown = match reqwest::Url::parse(&self.url) {
            Ok(mut u) => {
                if u.password().is_some() {
                    let _ = u.set_password(Some(REDACTED));
                }
                if u.query().is_some() {
                    u.set_query(Some(REDACTED));
                }
                u.to_string()
            }
            Err(_) => REDACTED.to_string(),
        };
        v["url"] = Value::String(shown);
        v
    }

    /// The signing secret, and the URL's password and query string, which [`redacted`]
    /// masks too: a receiver echoing the request line must not put them in an error.
    ///
    /// [`redacted`]: Channel::redacted
    fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = self.secret.iter().cloned().collect();
        if let Ok(u) = reqwest::Url::parse(&self.url) {
            secrets.extend(u.password().map(String::from));
            secrets.extend(u.query().map(String::from));
        }
        secrets
    }

    async fn send(&self, client: &reqwest::Client, alert: &Alert) -> Result<(), SendError> {
        let body = body(alert);
        let mut request = client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(EVENT_HEADER, alert.event.as_str())
            .header(IDEMPOTENCY_HEADER, header_safe(&alert.idempotency_key));
        if let Some(secret) = &self.secret {
            request = request.header(SIGNATURE_HEADER, sign(secret.as_bytes(), &body));
        }
        http::execute(request.body(body), &self.secrets()).await
    }

    fn example(peer: SocketAddr) -> Example {
        Example {
            config: json!({
                "url": format!("http://np:urlpassword-5a7e@{peer}/hook?token=querytoken-5a7e"),
                "secret": "whsecret-0123456789-5a7e",
            }),
            transport: Transport::Http,
            secrets: &[
                "whsecret-0123456789-5a7e",
                "urlpassword-5a7e",
                "querytoken-5a7e",
            ],
        }
    }
}

/// The exact bytes POSTed for `alert`.
pub fn body(alert: &Alert) -> Vec<u8> {
    // Strings, numbers, options and vectors only: serialization cannot fail.
    serde_json::to_vec(alert).unwrap_or_default()
}

/// The `X-NetPulse-Signature` value for `body`: `sha256=` followed by the lowercase hex
/// HMAC-SHA256 of `body` keyed with `secret`. Receivers recompute it over the raw request body
/// (before any JSON parsing) and compare in constant time.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Header values must be visible ASCII; anything else is replaced so a strange key cannot
/// break the request.
pub(crate) fn header_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::ChannelConfig;

    #[test]
    fn signature_matches_known_vector() {
        // Computed independently with Python:
        // hmac.new(b"0123456789abcdef", b'{"event":"test"}', hashlib.sha256).hexdigest()
        assert_eq!(
            sign(b"0123456789abcdef", br#"{"event":"test"}"#),
            "sha256=7c3a9585e84eae0c1118f7d6b8e7b2ed111c98451c92fa49b2dbcaa0834c7be9"
        );
        // RFC 4231 test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn validation_names_fields() {
        let cases = [
            (json!({}), "config.url", "is required"),
            (
                json!({"url": "ftp://x.example"}),
                "config.url",
                "must be an http or https URL",
            ),
            (
                json!({"url": "not a url"}),
                "config.url",
                "must be an http or https URL",
            ),
            (json!({"url": 5}), "config.url", "must be a string"),
            (
                json!({"url": "https://x.example", "secret": "short"}),
                "config.secret",
                "must be at least 16 characters",
            ),
            (
                json!({"url": "https://x.example", "sekret": "0123456789abcdef"}),
                "config.sekret",
                "unknown field",
            ),
        ];
        for (config, field, message) in cases {
            let e = ChannelConfig::parse("webhook", &config).unwrap_err();
            assert_eq!(e.field, field, "{config}");
            assert!(e.message.starts_with(message), "{config}: {e}");
        }
        assert_eq!(
            ChannelConfig::parse("webhook", &json!({"url": "ftp://x"}))
                .unwrap_err()
                .to_string(),
            "config.url: must be an http or https URL"
        );
        // No secret is fine (but unsigned).
        ChannelConfig::parse(
            "webhook",
            &json!({"url": "http://127.0.0.1:9/x", "secret": ""}),
        )
        .unwrap();
    }

    #[test]
    fn url_password_and_query_are_scrubbed_like_the_secret() {
        let Ok(ChannelConfig::Webhook(c)) = ChannelConfig::parse(
            "webhook",
            &json!({"url": "https://u:pw-secret@example.com/hook?t=abc", "secret": "0123456789abcdef"}),
        ) else {
            panic!()
        };
        assert_eq!(c.secrets(), ["0123456789abcdef", "pw-secret", "t=abc"]);
    }

    #[test]
    fn redaction_masks_secret_password_and_query() {
        let c = ChannelConfig::parse(
            "webhook",
            &json!({"url": "https://u:pw-secret@example.com/hook?t=abc", "secret": "0123456789abcdef"}),
        )
        .unwrap();
        assert_eq!(
            c.redacted(),
            json!({"url": "https://u:********@example.com/hook?********", "secret": "********"})
        );
    }
}
