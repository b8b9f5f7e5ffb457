//! SMS through Twilio's Messages API.
//!
//! One request per recipient: `POST {api_url}/2010-04-01/Accounts/{sid}/Messages.json`, HTTP
//! basic auth with the account SID and auth token, form fields `To`, `From` (or
//! `MessagingServiceSid` when `from` is an `MG…` messaging service) and `Body`. The body is the
//! summary plus a short reference, cut to Twilio's 1600-character limit. Twilio answers
//! `201 Created`.
//!
//! Twilio has no idempotency keys: if one recipient fails, the whole send fails and a retry
//! sends to every recipient again. The recipients' requests run concurrently, so a send ends
//! within [`SEND_TIMEOUT`](super::SEND_TIMEOUT) however many recipients there are (one after
//! the other, a dead endpoint would hold the alert queue for one timeout per recipient).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;

use serde::Serialize;
use serde_json::json;

use super::fields::{base_url, field_error, is_e164, token};
use super::{
    http, redacted_debug, truncate_chars, Channel, ChannelConfigError, Example, Fields, SendError,
    Transport,
};
use crate::message::Alert;

/// The public API.
pub const DEFAULT_API_URL: &str = "https://api.twilio.com";
/// Twilio's limit for one message body.
pub const BODY_MAX: usize = 1600;
/// At most this many recipients per channel (each costs one request per alert).
const MAX_RECIPIENTS: usize = 20;

/// Configuration of Twilio SMS.
#[derive(Clone, PartialEq, Serialize)]
pub struct TwilioConfig {
    /// Account SID, `AC` + 32 characters.
    pub account_sid: String,
    /// The account's auth token (basic-auth password).
    pub auth_token: String,
    /// Sender: an E.164 number owned by the account, an alphanumeric sender id, or a
    /// messaging service SID (`MG…`).
    pub from: String,
    /// Recipients as E.164 numbers (`+14155550100`).
    pub to: Vec<String>,
    /// Override of [`DEFAULT_API_URL`] (test receiver).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
}

redacted_debug!(TwilioConfig);

impl Channel for TwilioConfig {
    const SECRET_FIELDS: &'static [&'static str] = &["auth_token"];

    fn parse(f: &mut Fields) -> Result<Self, ChannelConfigError> {
        let account_sid = f.string("account_sid")?;
        if !(account_sid.len() == 34
            && account_sid.starts_with("AC")
            && account_sid.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(field_error(
                "account_sid",
                "must be the account SID (AC followed by 32 characters)",
            ));
        }
        let auth_token = f.string("auth_token")?;
        token("auth_token", &auth_token)?;
        let from = f.string("from")?;
        let alphanumeric_sender = from.len() <= 11
            && from.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ')
            && from.bytes().any(|b| b.is_ascii_alphabetic());
        let service = from.len() == 34
            && from.starts_with("MG")
            && from.bytes().all(|b| b.is_ascii_alphanumeric());
        if !(is_e164(&from) || alphanumeric_sender || service) {
            return Err(field_error(
                "from",
                "must be an E.164 number (+14155550100), an alphanumeric sender id (up to 11 \
                 characters) or a messaging service SID (MG...)",
            ));
        }
        let to = f.string_list("to", MAX_RECIPIENTS)?;
        for (i, number) in to.iter().enumerate() {
            if !is_e164(number) {
                return Err(field_error(
                    &format!("to[{i}]"),
                    "must be an E.164 number such as +14155550100",
                ));
            }
        }
        let api_url = base_url("api_url", f.opt_string("api_url")?)?;
        Ok(Self {
            account_sid,
            auth_token,
            from,
            to,
            api_url,
        })
    }

    async fn send(&self, client: &reqwest::Client, alert: &Alert) -> Result<(), SendError> {
        let endpoint = self.endpoint();
        let secrets = self.secrets();
        let requests = self.to.iter().map(|to| {
            let request = client
                .post(&endpoint)
                .basic_auth(&self.account_sid, Some(&self.auth_token))
                .form(&self.form(to, alert));
            http::execute(request, &secrets)
        });
        let results = join_all(requests.collect()).await;
        let mut failures = Vec::new();
        let mut any_retryable = false;
        for (to, result) in self.to.iter().zip(results) {
            if let Err(e) = result {
                any_retryable |= e.is_retryable();
                failures.push(format!("{to}: {}", e.message()));
            }
        }
        if failures.is_empty() {
            return Ok(());
        }
        let message = format!(
            "{} of {} recipients failed: {}",
            failures.len(),
            self.to.len(),
            failures.join("; ")
        );
        if any_retryable {
            Err(SendError::Retryable(message))
        } else {
            Err(SendError::Permanent(message))
        }
    }

    fn example(peer: SocketAddr) -> Example {
        Example {
            config: json!({
                "account_sid": "AC0123456789abcdef0123456789abcdef",
                "auth_token": "twilio-auth-token-secret-5a7e",
                "from": "+15005550006",
                "to": ["+14155550100", "+447700900123"],
                "api_url": format!("http://{peer}"),
            }),
            transport: Transport::Http,
            secrets: &["twilio-auth-token-secret-5a7e"],
        }
    }
}

impl TwilioConfig {
    /// `{api_url}/2010-04-01/Accounts/{sid}/Messages.json`.
    pub fn endpoint(&self) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.api_url.as_deref().unwrap_or(DEFAULT_API_URL),
            self.account_sid
        )
    }

    /// The SMS text: the summary, then the incident or monitor reference, at most
    /// [`BODY_MAX`] characters.
    pub fn body(alert: &Alert) -> String {
        let mut text = alert.summary.clone();
        if let Some(i) = &alert.incident {
            text.push_str(&format!("\nIncident {} since {}", i.id, i.started_at));
        } else if let Some(m) = &alert.monitor {
            text.push_str(&format!("\n{}", m.target));
        }
        truncate_chars(&text, BODY_MAX)
    }

    /// The form fields for one recipient.
    pub fn form(&self, to: &str, alert: &Alert) -> Vec<(&'static str, String)> {
        let sender = if self.from.starts_with("MG") && self.from.len() == 34 {
            "MessagingServiceSid"
        } else {
            "From"
        };
        vec![
            ("To", to.to_string()),
            (sender, self.from.clone()),
            ("Body", Self::body(alert)),
        ]
    }
}

/// Runs `futures` concurrently and returns their outputs in the same order: a `join_all`
/// for a handful of requests, without a dependency. Each wake-up polls the unfinished ones.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::ChannelConfig;
    use crate::message::AlertEvent;
    use serde_json::Value;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";

    fn base() -> Value {
        json!({"account_sid": SID, "auth_token": "tok", "from": "+15005550006",
               "to": ["+14155550100"]})
    }

    #[test]
    fn validation_names_fields() {
        let with = |k: &str, v: Value| {
            let mut c = base();
            c[k] = v;
            c
        };
        let cases = [
            (with("account_sid", json!("AB123")), "config.account_sid"),
            (with("auth_token", json!(null)), "config.auth_token"),
            (with("from", json!("12345")), "config.from"),
            (with("to", json!([])), "config.to"),
            (
                with("to", json!(["+14155550100", "0800 123"])),
                "config.to[1]",
            ),
            (with("to", json!(["+14155550100", 5])), "config.to[1]"),
            (with("api_url", json!("x")), "config.api_url"),
        ];
        for (config, field) in cases {
            let e = ChannelConfig::parse("twilio", &config).unwrap_err();
            assert_eq!(e.field, field, "{config}: {e}");
        }
        ChannelConfig::parse("twilio", &with("from", json!("NetPulse"))).unwrap();
        ChannelConfig::parse("twilio", &with("to", json!("+14155550100"))).unwrap();
    }

    #[test]
    fn body_is_limited_to_1600_characters() {
        let long = "é".repeat(5000);
        let a = Alert::new(AlertEvent::MonitorDown, "k", long, 0);
        assert_eq!(TwilioConfig::body(&a).chars().count(), BODY_MAX);
    }

    #[test]
    fn messaging_service_sender() {
        let mut c = base();
        c["from"] = json!("MG0123456789abcdef0123456789abcdef");
        let Ok(ChannelConfig::Twilio(t)) = ChannelConfig::parse("twilio", &c) else {
            panic!()
        };
        let form = t.form("+14155550100", &Alert::test("k", 0));
        assert_eq!(form[1].0, "MessagingServiceSid");
    }
}
