//! E-mail over SMTP (lettre, tokio, rustls).
//!
//! One plain-text message to all recipients: subject `[NetPulse] <summary>`, body
//! [`Alert::text`], `Message-ID: <idempotency-key@netpulse>` so mail systems and people can
//! recognise a retried delivery as the same message, and `X-NetPulse-Idempotency-Key` /
//! `X-NetPulse-Event` headers for filters.
//!
//! Transport security is explicit (`tls`): `none` (port 25 default, for a relay on a trusted
//! network), `starttls` (587) or `tls` (implicit TLS, 465). Certificates are checked against
//! the system roots plus the optional `ca_pem`, for self-hosted relays with a private CA.
//! Credentials are refused with `tls: none` so a password never crosses the network in clear.

use std::net::SocketAddr;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;
use serde_json::json;

use super::fields::field_error;
use super::{
    http::scrub, redacted_debug, Channel, ChannelConfigError, Example, Fields, SendError,
    Transport, SEND_TIMEOUT,
};
use crate::message::Alert;

/// At most this many recipients per channel.
const MAX_RECIPIENTS: usize = 50;
/// Longest accepted `ca_pem`.
const MAX_PEM: usize = 64 * 1024;

/// Header with the alert's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "X-NetPulse-Idempotency-Key";
/// Header with the alert's event name.
pub const EVENT_HEADER: &str = "X-NetPulse-Event";

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP; no credentials allowed.
    None,
    /// Plain connection upgraded with STARTTLS, which is required (no fallback to plain).
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

impl SmtpTls {
    /// The usual port for this mode.
    pub fn default_port(&self) -> u16 {
        match self {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        }
    }
}

/// Configuration of e-mail delivery.
#[derive(Clone, PartialEq, Serialize)]
pub struct EmailConfig {
    /// SMTP server host name or IP address (also the name its certificate must carry).
    pub host: String,
    /// SMTP port; defaults from `tls` (25, 587, 465).
    pub port: u16,
    /// Sender, `alerts@example.com` or `NetPulse <alerts@example.com>`.
    pub from: String,
    /// Recipients, same forms as `from`.
    pub to: Vec<String>,
    /// Transport security.
    pub tls: SmtpTls,
    /// SMTP AUTH user name (with `password`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// SMTP AUTH password (with `username`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Extra trusted root certificate(s), PEM, for relays with a private CA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
}

redacted_debug!(EmailConfig);

impl Channel for EmailConfig {
    const SECRET_FIELDS: &'static [&'static str] = &["password"];

    fn parse(f: &mut Fields) -> Result<Self, ChannelConfigError> {
        let host = f.string("host")?;
        if host.contains(|c: char| c.is_whitespace() || c == '/' || c == '@') {
            return Err(field_error("host", "must be a host name or IP address"));
        }
        let tls = match f.opt_string("tls")?.as_deref() {
            Some("none") => SmtpTls::None,
            Some("starttls") => SmtpTls::Starttls,
            Some("tls") => SmtpTls::Tls,
            None => return Err(field_error("tls", "is required (none, starttls or tls)")),
            Some(_) => return Err(field_error("tls", "must be one of none, starttls, tls")),
        };
        let port = f.opt_port("port")?.unwrap_or(tls.default_port());
        let from = f.string("from")?;
        parse_mailbox("from", &from)?;
        let to = f.string_list("to", MAX_RECIPIENTS)?;
        for (i, address) in to.iter().enumerate() {
            parse_mailbox(&format!("to[{i}]"), address)?;
        }
        let username = f.opt_string("username")?;
        let password = f.opt_string("password")?;
        match (&username, &password) {
            (Some(_), None) => {
                return Err(field_error("password", "is required when username is set"))
            }
            (None, Some(_)) => {
                return Err(field_error("username", "is required when password is set"))
            }
            (Some(_), Some(_)) if tls == SmtpTls::None => {
                return Err(field_error(
                    "password",
                    "refusing to send credentials without TLS (set tls to starttls or tls)",
                ))
            }
            _ => {}
        }
        let ca_pem = f.opt_string_max("ca_pem", MAX_PEM)?;
        if let Some(pem) = &ca_pem {
            if tls == SmtpTls::None {
                return Err(field_error("ca_pem", "has no effect with tls none"));
            }
            certificate(pem).map_err(|m| field_error("ca_pem", m))?;
        }
        Ok(Self {
            host,
            port,
            from,
            to,
            tls,
            username,
            password,
            ca_pem,
        })
    }

    /// SMTP needs no HTTP client: `_http` is unused.
    async fn send(&self, _http: &reqwest::Client, alert: &Alert) -> Result<(), SendError> {
        let message = self.message(alert)?;
        let transport = self.transport()?;
        // lettre's timeout bounds connecting, but a relay that accepts and then never answers
        // was only ended by this outer bound. It is SEND_TIMEOUT itself, as for every HTTP
        // channel, so the whole exchange keeps SEND_TIMEOUT's promise.
        let result = tokio::time::timeout(SEND_TIMEOUT, transport.send(message)).await;
        match result {
            Err(_) => Err(SendError::Retryable("SMTP exchange timed out".into())),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(classify(&e, &self.secrets())),
        }
    }

    /// STARTTLS with credentials, so the password is a real secret to look for; a peer that
    /// answers before TLS (or never) exercises classification and timeouts.
    fn example(peer: SocketAddr) -> Example {
        Example {
            config: json!({
                "host": peer.ip().to_string(),
                "port": peer.port(),
                "tls": "starttls",
                "from": "NetPulse <alerts@example.com>",
                "to": ["ops@example.com", "Oncall <oncall@example.com>"],
                "username": "alerts",
                "password": "smtp-password-secret-5a7e",
            }),
            transport: Transport::Smtp,
            secrets: &["smtp-password-secret-5a7e"],
        }
    }
}

impl EmailConfig {
    /// The message for `alert`, ready to send.
    pub fn message(&self, alert: &Alert) -> Result<Message, SendError> {
        let invalid = |what: &str| SendError::Permanent(format!("invalid {what} address"));
        let from: Mailbox = self.from.parse().map_err(|_| invalid("from"))?;
        let mut builder = Message::builder()
            .from(from)
            .subject(subject(alert))
            .message_id(Some(message_id(&alert.idempotency_key)))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str(IDEMPOTENCY_HEADER),
                super::webhook::header_safe(&alert.idempotency_key),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str(EVENT_HEADER),
                alert.event.as_str().to_string(),
            ))
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            builder = builder.to(to.parse().map_err(|_| invalid("to"))?);
        }
        builder
            .body(alert.text())
            .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .timeout(Some(SEND_TIMEOUT));
        if self.tls != SmtpTls::None {
            let mut params = TlsParameters::builder(self.host.clone());
            if let Some(pem) = &self.ca_pem {
                params = params.add_root_certificate(
                    certificate(pem).map_err(|m| SendError::Permanent(format!("ca_pem: {m}")))?,
                );
            }
            let params = params.build_rustls().map_err(|e| {
                SendError::Permanent(format!("TLS setup failed: {}", error_chain(&e)))
            })?;
            builder = builder.tls(match self.tls {
                SmtpTls::Starttls => Tls::Required(params),
                _ => Tls::Wrapper(params),
            });
        }
        if let (Some(user), Some(password)) = (&self.username, &self.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(builder.build())
    }
}

/// SMTP 4xx replies are transient by definition and 5xx permanent; network trouble and
/// timeouts are worth retrying; an error building the request is not.
fn classify(e: &lettre::transport::smtp::Error, secrets: &[String]) -> SendError {
    let message = scrub(&format!("SMTP: {}", error_chain(e)), secrets);
    if e.is_permanent() || e.is_client() {
        SendError::Permanent(message)
    } else {
        SendError::Retryable(message)
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

fn parse_mailbox(name: &str, s: &str) -> Result<Mailbox, ChannelConfigError> {
    s.parse::<Mailbox>()
        .map_err(|_| field_error(name, "must be an e-mail address like ops@example.com"))
}

fn certificate(pem: &str) -> Result<Certificate, String> {
    if !pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err("must contain a PEM certificate".into());
    }
    Certificate::from_pem(pem.as_bytes()).map_err(|_| "is not a valid PEM certificate".into())
}

/// `[NetPulse] <summary>`, on one line.
pub fn subject(alert: &Alert) -> String {
    let line: String = alert
        .summary
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("[NetPulse] {}", super::truncate_chars(line.trim(), 200))
}

/// `<key@netpulse>`; characters other than letters, digits, `-`, `_`, `+`, `=` and `.`
/// (not leading, trailing or doubled) become `_` so the id stays a valid RFC 5322 msg-id.
pub fn message_id(idempotency_key: &str) -> String {
    let mut local: String = idempotency_key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '=' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    while local.contains("..") {
        local = local.replace("..", "._");
    }
    let local = local.trim_matches('.');
    let local = if local.is_empty() { "alert" } else { local };
    format!("<{local}@netpulse>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::ChannelConfig;
    use crate::message::AlertEvent;
    use serde_json::Value;

    fn base() -> Value {
        json!({"host": "smtp.example.com", "tls": "starttls",
               "from": "NetPulse <alerts@example.com>", "to": ["ops@example.com"]})
    }

    #[test]
    fn validation_names_fields() {
        let with = |k: &str, v: Value| {
            let mut c = base();
            c[k] = v;
            c
        };
        let cases = [
            (with("host", json!(null)), "config.host"),
            (with("host", json!("smtp example")), "config.host"),
            (with("tls", json!("ssl")), "config.tls"),
            (with("port", json!(70000)), "config.port"),
            (with("port", json!("25")), "config.port"),
            (with("from", json!("not an address")), "config.from"),
            (
                with("to", json!(["ops@example.com", "bad@"])),
                "config.to[1]",
            ),
            (with("to", json!([])), "config.to"),
            (with("username", json!("u")), "config.password"),
            (with("password", json!("p")), "config.username"),
            (with("ca_pem", json!("hello")), "config.ca_pem"),
        ];
        for (config, field) in cases {
            let e = ChannelConfig::parse("email", &config).unwrap_err();
            assert_eq!(e.field, field, "{config}: {e}");
        }
        let mut plain = with("tls", json!("none"));
        plain["username"] = json!("u");
        plain["password"] = json!("p");
        let e = ChannelConfig::parse("email", &plain).unwrap_err();
        assert_eq!(e.field, "config.password");
    }

    #[test]
    fn default_ports_follow_tls() {
        for (tls, port) in [("none", 25), ("starttls", 587), ("tls", 465)] {
            let mut c = base();
            c["tls"] = json!(tls);
            let Ok(ChannelConfig::Email(e)) = ChannelConfig::parse("email", &c) else {
                panic!()
            };
            assert_eq!(e.port, port);
        }
    }

    #[test]
    fn message_ids_stay_valid() {
        assert_eq!(message_id("abc-123"), "<abc-123@netpulse>");
        assert_eq!(message_id("a b<c>@d"), "<a_b_c__d@netpulse>");
        assert_eq!(message_id("..a..b."), "<_a._b@netpulse>");
        assert_eq!(message_id(""), "<alert@netpulse>");
    }

    #[test]
    fn message_has_headers() {
        let Ok(ChannelConfig::Email(e)) = ChannelConfig::parse("email", &base()) else {
            panic!()
        };
        let a = Alert::new(AlertEvent::MonitorDown, "key-1", "api is DOWN\r\nBcc: x", 0);
        let raw = String::from_utf8(e.message(&a).unwrap().formatted()).unwrap();
        // A line break in the summary must not create a header.
        let (raw, _body) = raw.split_once("\r\n\r\n").unwrap();
        let raw = format!("{raw}\r\n");
        assert!(raw.contains("Message-ID: <key-1@netpulse>\r\n"), "{raw}");
        assert!(
            raw.contains("X-NetPulse-Idempotency-Key: key-1\r\n"),
            "{raw}"
        );
        assert!(
            raw.contains("Subject: [NetPulse] api is DOWN  Bcc: x\r\n"),
            "{raw}"
        );
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
    }
}
