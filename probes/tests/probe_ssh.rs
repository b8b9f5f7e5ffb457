//! The SSH probe against a real OpenSSH `sshd`, started by each test on 127.0.0.1 and a free
//! port with its own host key, config, pid file and authorized keys in a temporary directory.
//!
//! The tests log in as a local system user, [`TEST_USER`], created once (idempotently) with a
//! known password; they need root (to create the user and to run `sshd`).
//! `scripts/test-peers.sh` installs `sshd`, `ssh-keygen` and the `passwd` tools. A missing
//! peer fails the test with a message naming that script; nothing is skipped.
#![cfg(feature = "ssh")]

mod support;

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use netpulse_probes::{Probe, ProbeContext, ProbeOutcome};
use netpulse_protocol::check::{ProbeSpec, SshAuth, SshSpec};
use netpulse_protocol::result::{CheckStatus, ErrorClass};
use support::{message, metric, require};

/// The local account the tests log in as.
const TEST_USER: &str = "netpulse-test";
/// Its password (a throwaway account used only by these tests, only through loopback sshd).
const TEST_PASSWORD: &str = "np-Test-pw-4711";

fn run_tool(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Creates [`TEST_USER`] if missing and sets its password; once per test process.
fn ensure_test_user() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            panic!("the SSH tests need root (to create {TEST_USER} and run sshd)");
        }
        let exists = Command::new("id")
            .arg(TEST_USER)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !exists {
            let useradd = require("useradd");
            let out = Command::new(useradd)
                .args(["--create-home", "--shell", "/bin/sh", TEST_USER])
                .output()
                .expect("run useradd");
            // 9: created meanwhile by another process.
            assert!(
                out.status.success() || out.status.code() == Some(9),
                "useradd failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut chpasswd = Command::new(require("chpasswd"))
            .stdin(Stdio::piped())
            .spawn()
            .expect("run chpasswd");
        {
            use std::io::Write;
            let stdin = chpasswd.stdin.as_mut().expect("stdin");
            writeln!(stdin, "{TEST_USER}:{TEST_PASSWORD}").expect("write to chpasswd");
        }
        assert!(
            chpasswd.wait().expect("chpasswd").success(),
            "chpasswd failed"
        );
    });
}

/// A port that was free on 127.0.0.1 at the time of the call.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A generated key pair: (private key text, public key line, SHA-256 fingerprint).
fn keygen(dir: &Path, name: &str, passphrase: &str) -> (String, String, String) {
    let path = dir.join(name);
    run_tool(
        Command::new(require("ssh-keygen"))
            .args(["-q", "-t", "ed25519", "-C", name, "-N", passphrase, "-f"])
            .arg(&path),
    );
    let fp = run_tool(
        Command::new(require("ssh-keygen"))
            .arg("-lf")
            .arg(path.with_extension("pub")),
    );
    let fp = fp
        .split_whitespace()
        .nth(1)
        .expect("fingerprint in ssh-keygen -l output")
        .to_owned();
    let private = fs::read_to_string(&path).expect("private key");
    let public = fs::read_to_string(path.with_extension("pub")).expect("public key");
    (private, public, fp)
}

/// `sshd -D -e` with its own configuration; stopped on drop.
struct Sshd {
    child: Child,
    port: u16,
    /// Fingerprint of its host key, as `ssh-keygen -lf` prints it.
    host_key_fingerprint: String,
    /// Private key (unencrypted) of an authorized client key.
    client_key: String,
    /// Private key, encrypted with [`Sshd::CLIENT_KEY_PASSPHRASE`], also authorized.
    client_key_encrypted: String,
    _dir: tempfile::TempDir,
}

impl Sshd {
    const CLIENT_KEY_PASSPHRASE: &'static str = "key-passphrase";

    /// Without PAM: passwords are checked against the shadow file by sshd itself.
    fn start() -> Sshd {
        Self::start_with(false, "")
    }

    /// With `pam`, sshd asks the password through PAM, which is what backs
    /// keyboard-interactive authentication on Linux.
    /// `extra` is appended to the configuration.
    fn start_with(pam: bool, extra: &str) -> Sshd {
        let use_pam = if pam { "yes" } else { "no" };
        let sshd = require("sshd");
        ensure_test_user();
        // Privilege separation directory, normally made by the init script.
        fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let dir = tempfile::tempdir().expect("tempdir");
        // sshd reads authorized_keys as the user.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        let (_, _, host_fp) = keygen(dir.path(), "host_ed25519", "");
        let (client_key, client_pub, _) = keygen(dir.path(), "client", "");
        let (client_key_encrypted, client_pub2, _) =
            keygen(dir.path(), "client_enc", Self::CLIENT_KEY_PASSPHRASE);
        let authorized = dir.path().join("authorized_keys");
        fs::write(&authorized, format!("{client_pub}{client_pub2}")).expect("authorized_keys");
        fs::set_permissions(&authorized, fs::Permissions::from_mode(0o644)).expect("chmod");
        let port = free_port();
        let d = dir.path().display();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_ed25519\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM {use_pam}\n\
             PasswordAuthentication yes\nKbdInteractiveAuthentication yes\nPubkeyAuthentication yes\n\
             PermitRootLogin no\nAllowUsers {TEST_USER}\nLogLevel VERBOSE\n{extra}"
        );
        let config_path = dir.path().join("sshd_config");
        fs::write(&config_path, config).expect("sshd_config");
        let mut child = Command::new(&sshd)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                fs::File::create(dir.path().join("sshd.log")).expect("sshd.log"),
            ))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", sshd.display()));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let log = fs::read_to_string(dir.path().join("sshd.log")).unwrap_or_default();
                panic!("sshd exited at start-up ({status}):\n{log}");
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "sshd did not listen on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Sshd {
            child,
            port,
            host_key_fingerprint: host_fp,
            client_key,
            client_key_encrypted,
            _dir: dir,
        }
    }

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

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    let port = free_port();
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
