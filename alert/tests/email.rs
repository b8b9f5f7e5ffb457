//! E-mail delivered to a real SMTP server: aiosmtpd (Debian `python3-aiosmtpd`, installed by
//! `scripts/test-peers.sh`) started per test on a free port, storing what it receives in a
//! Maildir that the test then reads. Plain SMTP, STARTTLS and implicit TLS run against it, with
//! a test CA made by rcgen and trusted through `ca_pem`.

use std::path::PathBuf;

use netpulse_alert::{Alert, AlertEvent, ChannelConfig, RegionVote, SendError, Sender};
use netpulse_test_support::ports::closed_port;
use netpulse_test_support::smtp::{ServerTls, SmtpSink};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use serde_json::{json, Value};

/// The one message the sink received, parsed.
fn only_message(sink: &SmtpSink) -> Mail {
    let m = sink.messages();
    assert_eq!(m.len(), 1, "{m:#?}");
    Mail::parse(&m[0])
}

/// A received message split into unfolded headers and body.
struct Mail {
    headers: Vec<(String, String)>,
    body: String,
}

impl Mail {
    fn parse(raw: &str) -> Self {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").expect("headers and body");
        // Unfold continuation lines (RFC 5322 2.2.3).
        let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
        let headers = unfolded
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Self {
            headers,
            body: body.to_string(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn alert() -> Alert {
    Alert::new(
        AlertEvent::MonitorDown,
        "inc-9-down-1",
        "api.example.com is DOWN: 2/2 regions failing",
        1_795_398_514_120,
    )
    .with_monitor("mon-9", "API", "https://api.example.com/health")
    .with_incident("inc-9", 1_795_398_514_120, None, false)
    .with_region("eu-west", RegionVote::Down, Some("connect timeout".into()))
    .with_region("us-east", RegionVote::Down, Some("HTTP 503".into()))
}

fn email(config: Value) -> ChannelConfig {
    ChannelConfig::parse("email", &config).unwrap_or_else(|e| panic!("{e}"))
}

fn assert_delivered(sink: &SmtpSink) {
    let mail = only_message(sink);
    assert_eq!(
        mail.header("subject"),
        Some("[NetPulse] api.example.com is DOWN: 2/2 regions failing")
    );
    assert_eq!(mail.header("message-id"), Some("<inc-9-down-1@netpulse>"));
    assert_eq!(
        mail.header("x-netpulse-idempotency-key"),
        Some("inc-9-down-1")
    );
    assert_eq!(mail.header("x-netpulse-event"), Some("monitor.down"));
    assert_eq!(mail.header("from"), Some("NetPulse <alerts@example.com>"));
    let to = mail.header("to").unwrap_or_default();
    assert!(
        to.contains("ops@example.com") && to.contains("oncall@example.com"),
        "{to}"
    );
    // Envelope recipients as the server saw them.
    let rcpt = mail.header("x-rcptto").unwrap_or_default();
    assert!(
        rcpt.contains("ops@example.com") && rcpt.contains("oncall@example.com"),
        "{rcpt}"
    );
    assert!(
        mail.body.starts_with("api.example.com is DOWN"),
        "{}",
        mail.body
    );
    assert!(
        mail.body.contains("Target: https://api.example.com/health"),
        "{}",
        mail.body
    );
    assert!(
        mail.body.contains("  eu-west: down (connect timeout)"),
        "{}",
        mail.body
    );
    assert!(
        mail.body.contains("  us-east: down (HTTP 503)"),
        "{}",
        mail.body
    );
}

/// A CA and a server certificate for 127.0.0.1 signed by it, written as PEM files.
struct TestPki {
    ca_pem: String,
    cert: PathBuf,
    key: PathBuf,
    _dir: tempfile::TempDir,
}

fn test_pki() -> TestPki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "NetPulse test SMTP CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, &ca_key);

    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "smtp test server");
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("server.crt");
    let key = dir.path().join("server.key");
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    TestPki {
        ca_pem: ca_cert.pem(),
        cert,
        key,
        _dir: dir,
    }
}

fn base_config(port: u16, tls: &str) -> Value {
    json!({
        "host": "127.0.0.1",
        "port": port,
        "tls": tls,
        "from": "NetPulse <alerts@example.com>",
        "to": ["ops@example.com", "Oncall <oncall@example.com>"],
    })
}

#[tokio::test]
async fn plain_smtp_delivers_subject_body_and_message_id() {
    let sink = SmtpSink::start("127.0.0.1", ServerTls::None, &[]);
    let cfg = email(base_config(sink.port(), "none"));
    Sender::new().send(&cfg, &alert()).await.unwrap();
    assert_delivered(&sink);
}

#[tokio::test]
async fn starttls_with_private_ca() {
    let pki = test_pki();
    let sink = SmtpSink::start(
        "127.0.0.1",
        ServerTls::Starttls {
            cert: &pki.cert,
            key: &pki.key,
        },
        &[],
    );
    let mut config = base_config(sink.port(), "starttls");
    config["ca_pem"] = json!(pki.ca_pem);
    Sender::new().send(&email(config), &alert()).await.unwrap();
    assert_delivered(&sink);
}

#[tokio::test]
async fn starttls_rejects_an_untrusted_certificate() {
    let pki = test_pki();
    let sink = SmtpSink::start(
        "127.0.0.1",
        ServerTls::Starttls {
            cert: &pki.cert,
            key: &pki.key,
        },
        &[],
    );
    // Without ca_pem only the system roots are trusted, and they do not include the test CA.
    let cfg = email(base_config(sink.port(), "starttls"));
    let err = Sender::new().send(&cfg, &alert()).await.unwrap_err();
    assert!(
        err.message().to_lowercase().contains("certificate"),
        "{err}"
    );
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn implicit_tls_with_private_ca() {
    let pki = test_pki();
    let sink = SmtpSink::start(
        "127.0.0.1",
        ServerTls::Implicit {
            cert: &pki.cert,
            key: &pki.key,
        },
        &[],
    );
    let mut config = base_config(sink.port(), "tls");
    config["ca_pem"] = json!(pki.ca_pem);
    Sender::new().send(&email(config), &alert()).await.unwrap();
    assert_delivered(&sink);
}

#[tokio::test]
async fn smtp_5xx_is_permanent() {
    // A 200-byte size limit makes the server refuse the message with 552.
    let sink = SmtpSink::start("127.0.0.1", ServerTls::None, &["-s", "200"]);
    let cfg = email(base_config(sink.port(), "none"));
    let err = Sender::new().send(&cfg, &alert()).await.unwrap_err();
    assert!(matches!(err, SendError::Permanent(_)), "{err}");
    assert!(err.message().contains("552"), "{err}");
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn smtp_connection_refused_is_retryable() {
    let cfg = email(base_config(closed_port().port(), "none"));
    let err = Sender::new().send(&cfg, &alert()).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
}
