//! The SSH probe against a real OpenSSH `sshd` (`netpulse_test_support::sshd`), started by each
//! test on 127.0.0.1 and a free port with its own host key, config, pid file and authorized keys
//! in a temporary directory.
//!
//! The tests log in as a local system user, [`TEST_USER`], created once (idempotently) with a
//! known password; they need root (to create the user and to run `sshd`).
//! `scripts/test-peers.sh` installs `sshd`, `ssh-keygen` and the `passwd` tools. A missing
//! peer fails the test with a message naming its package and that script; nothing is skipped.
#![cfg(feature = "ssh")]

mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use netpulse_probes::{Probe, ProbeContext, ProbeOutcome};
use netpulse_protocol::check::{ProbeSpec, SshAuth, SshSpec};
use netpulse_protocol::result::{CheckStatus, ErrorClass};
use netpulse_test_support::ports::closed_port;
use netpulse_test_support::sshd::{keygen, Sshd, TEST_PASSWORD, TEST_USER};
use support::{message, metric};

/// Probe specs for the test server.
trait SpecFor {
    fn spec(&self, auth: SshAuth) -> SshSpec;
    fn password_spec(&self) -> SshSpec;
}

impl SpecFor for Sshd {
    fn spec(&self, auth: SshAuth) -> SshSpec {
        SshSpec {
            host: "127.0.0.1".into(),
            port: self.port,
            username: TEST_USER.into(),
            auth,
            host_key_fingerprint: None,
            command: None,
            expect_regex: None,
            extract: Vec::new(),
            legacy_algorithms: false,
        }
    }

    fn password_spec(&self) -> SshSpec {
        self.spec(SshAuth::Password(TEST_PASSWORD.into()))
    }
}

async fn run_within(spec: SshSpec, timeout: Duration) -> ProbeOutcome {
    let spec = ProbeSpec::Ssh(spec);
    let ctx = ProbeContext::for_node("test", "n-ssh");
    let probe = Probe::build(&spec, &ctx).unwrap_or_else(|e| panic!("{spec:?}: {e}"));
    let outcome = probe.run(timeout).await;
    // Shown with --nocapture, and for failing tests.
    println!("ssh -> {outcome:?}");
    outcome
}

async fn run(spec: SshSpec) -> ProbeOutcome {
    run_within(spec, Duration::from_secs(10)).await
}

fn detail(o: &ProbeOutcome) -> &str {
    o.detail.as_deref().unwrap_or("")
}

/// No secret may appear in what the probe reports.
fn assert_no_secrets(o: &ProbeOutcome, sshd: &Sshd) {
    let shown = format!("{o:?}");
    for secret in [
        TEST_PASSWORD,
        Sshd::CLIENT_KEY_PASSPHRASE,
        "wrong-password-0815",
    ] {
        assert!(!shown.contains(secret), "secret in outcome: {shown}");
    }
    for key in [&sshd.client_key, &sshd.client_key_encrypted] {
        let body = key.lines().nth(1).expect("key body");
        assert!(!shown.contains(body), "private key in outcome: {shown}");
    }
}

#[tokio::test]
async fn ssh_password_command_regex_and_extracted_numbers() {
    let sshd = Sshd::start();
    let mut spec = sshd.password_spec();
    spec.command = Some("echo 'load average: 0.42, 0.40'; echo users=7 >&2".into());
    spec.expect_regex = Some(r"load average: \d".into());
    spec.extract = vec![
        ("load1".into(), r"load average: ([0-9.]+)".into()),
        ("users".into(), r"users=(\d+)".into()),
    ];
    let o = run(spec.clone()).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_eq!(metric(&o, "exit_status"), 0.0);
    assert_eq!(metric(&o, "load1"), 0.42);
    assert_eq!(metric(&o, "users"), 7.0);
    for m in ["dns_ms", "connect_ms", "auth_ms", "total_ms"] {
        assert!(metric(&o, m) >= 0.0);
    }
    assert!(metric(&o, "total_ms") >= metric(&o, "auth_ms"));
    assert!(detail(&o).contains("load average: 0.42"), "{o:?}");
    assert_no_secrets(&o, &sshd);

    // The same output, a regex that does not match: assertion.
    spec.expect_regex = Some("^never there$".into());
    let o = run(spec.clone()).await;
    assert_eq!(o.error_class(), Some(ErrorClass::Assertion), "{o:?}");
    assert!(message(&o).contains("expect_regex"), "{o:?}");

    // A number that is not in the output: assertion naming it.
    spec.expect_regex = None;
    spec.extract = vec![("missing".into(), r"nothing=(\d+)".into())];
    let o = run(spec).await;
    assert_eq!(o.error_class(), Some(ErrorClass::Assertion), "{o:?}");
    assert!(message(&o).contains("missing"), "{o:?}");
}

#[tokio::test]
async fn ssh_key_auth_plain_and_encrypted() {
    let sshd = Sshd::start();
    let mut spec = sshd.spec(SshAuth::PrivateKey {
        pem: sshd.client_key.clone(),
        passphrase: None,
    });
    spec.command = Some("id -un".into());
    spec.expect_regex = Some(format!("^{TEST_USER}\\s*$"));
    let o = run(spec.clone()).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert!(metric(&o, "auth_ms") >= 0.0);

    spec.auth = SshAuth::PrivateKey {
        pem: sshd.client_key_encrypted.clone(),
        passphrase: Some(Sshd::CLIENT_KEY_PASSPHRASE.into()),
    };
    let o = run(spec.clone()).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_no_secrets(&o, &sshd);

    // A key the server does not know: auth.
    let other = tempfile::tempdir().expect("tempdir");
    let (unknown, _, _) = keygen(other.path(), "unknown", "");
    spec.auth = SshAuth::PrivateKey {
        pem: unknown,
        passphrase: None,
    };
    let o = run(spec).await;
    assert_eq!(o.error_class(), Some(ErrorClass::Auth), "{o:?}");
}

#[tokio::test]
async fn ssh_wrong_password_is_auth() {
    let sshd = Sshd::start();
    let mut spec = sshd.spec(SshAuth::Password("wrong-password-0815".into()));
    spec.command = Some("true".into());
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Down, "{o:?}");
    assert_eq!(o.error_class(), Some(ErrorClass::Auth), "{o:?}");
    assert!(message(&o).contains(TEST_USER), "{o:?}");
    assert!(o.metric("exit_status").is_none(), "{o:?}");
    assert_no_secrets(&o, &sshd);
}

#[tokio::test]
async fn ssh_pinned_correct_fingerprint_is_up() {
    let sshd = Sshd::start();
    let mut spec = sshd.password_spec();
    spec.host_key_fingerprint = Some(sshd.host_key_fingerprint.clone());
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert!(detail(&o).contains(&sshd.host_key_fingerprint), "{o:?}");
    assert!(detail(&o).contains("pinned"), "{o:?}");
}

#[tokio::test]
async fn ssh_wrong_fingerprint_is_host_key_mismatch() {
    let sshd = Sshd::start();
    let other = tempfile::tempdir().expect("tempdir");
    let (_, _, other_fp) = keygen(other.path(), "other_host", "");
    let mut spec = sshd.password_spec();
    spec.host_key_fingerprint = Some(other_fp.clone());
    spec.command = Some("true".into());
    let o = run(spec).await;
    assert_eq!(o.error_class(), Some(ErrorClass::Auth), "{o:?}");
    assert_eq!(
        message(&o),
        format!(
            "host key mismatch: expected {other_fp}, got {}",
            sshd.host_key_fingerprint
        )
    );
    // Never went on to authenticate.
    assert!(o.metric("auth_ms").is_none(), "{o:?}");
    assert_no_secrets(&o, &sshd);
}

#[tokio::test]
async fn ssh_trust_on_first_use_reports_fingerprint() {
    let sshd = Sshd::start();
    let o = run(sshd.password_spec()).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert!(
        detail(&o).contains(&format!(
            "host key {} (not pinned: trust on first use)",
            sshd.host_key_fingerprint
        )),
        "{o:?}"
    );
    // The coordinator pins what it is told here.
    assert_eq!(
        o.facts,
        vec![("ssh_host_key".to_owned(), sshd.host_key_fingerprint.clone())]
    );
    let mut pinned = sshd.password_spec();
    pinned.host_key_fingerprint = Some(sshd.host_key_fingerprint.clone());
    assert!(
        run(pinned).await.facts.is_empty(),
        "nothing to record once pinned"
    );
}

#[tokio::test]
async fn ssh_command_exit_3_is_assertion() {
    let sshd = Sshd::start();
    let mut spec = sshd.password_spec();
    spec.command = Some("echo failing; exit 3".into());
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Down, "{o:?}");
    assert_eq!(o.error_class(), Some(ErrorClass::Assertion), "{o:?}");
    assert!(message(&o).contains("status 3"), "{o:?}");
    assert_eq!(metric(&o, "exit_status"), 3.0);
    assert!(detail(&o).contains("failing"), "{o:?}");
}

#[tokio::test]
async fn ssh_refused_port_is_refused() {
    let port = closed_port().port();
    let spec = SshSpec {
        host: "127.0.0.1".into(),
        port,
        username: TEST_USER.into(),
        auth: SshAuth::Password(TEST_PASSWORD.into()),
        host_key_fingerprint: None,
        command: None,
        expect_regex: None,
        extract: Vec::new(),
        legacy_algorithms: false,
    };
    let o = run(spec).await;
    assert_eq!(o.error_class(), Some(ErrorClass::Refused), "{o:?}");
}

#[tokio::test]
async fn ssh_silent_server_is_timeout() {
    // Accepts TCP connections (the kernel completes the handshake) and never says a word.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let spec = SshSpec {
        host: "127.0.0.1".into(),
        port,
        username: TEST_USER.into(),
        auth: SshAuth::Password(TEST_PASSWORD.into()),
        host_key_fingerprint: None,
        command: Some("true".into()),
        expect_regex: None,
        extract: Vec::new(),
        legacy_algorithms: false,
    };
    let started = Instant::now();
    let o = run_within(spec, Duration::from_millis(800)).await;
    assert_eq!(o.error_class(), Some(ErrorClass::Timeout), "{o:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "{o:?}");
    drop(listener);
}

#[tokio::test]
async fn ssh_legacy_only_server_needs_legacy_algorithms() {
    // Old network gear: SHA-1 key exchange, CBC cipher, SHA-1 MAC, nothing newer.
    let sshd = Sshd::start_with(
        false,
        "KexAlgorithms diffie-hellman-group14-sha1\nCiphers aes128-cbc\nMACs hmac-sha1\n",
    );
    let mut spec = sshd.password_spec();
    spec.command = Some("true".into());
    let o = run(spec.clone()).await;
    assert_eq!(o.error_class(), Some(ErrorClass::Protocol), "{o:?}");
    assert!(message(&o).contains("legacy_algorithms"), "{o:?}");

    spec.legacy_algorithms = true;
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
}

#[tokio::test]
async fn ssh_legacy_algorithms_still_log_in() {
    // The opt-in only adds algorithms: a modern server still negotiates and logs in.
    let sshd = Sshd::start();
    let mut spec = sshd.password_spec();
    spec.legacy_algorithms = true;
    spec.command = Some("true".into());
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
}

#[tokio::test]
async fn ssh_keyboard_interactive_auth() {
    let sshd = Sshd::start_with(true, "");
    let mut spec = sshd.spec(SshAuth::KeyboardInteractive(TEST_PASSWORD.into()));
    spec.command = Some("echo kbd-ok".into());
    spec.expect_regex = Some("kbd-ok".into());
    let o = run(spec.clone()).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_no_secrets(&o, &sshd);

    spec.auth = SshAuth::KeyboardInteractive("wrong-password-0815".into());
    let o = run(spec).await;
    assert_eq!(o.error_class(), Some(ErrorClass::Auth), "{o:?}");
    assert_no_secrets(&o, &sshd);
}
