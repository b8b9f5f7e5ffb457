//! OpenSSH's `sshd` (Debian `openssh-server`) on 127.0.0.1 and a free port, with its own host
//! key, configuration, pid file and authorized keys in a temporary directory. Clients log in as
//! a local system user, [`TEST_USER`], created once per process (idempotently) with a known
//! password; this needs root (to create the user and to run `sshd`).
//!
//! Used by the SSH probe tests (`probes/tests/probe_ssh.rs`).

use std::fs;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::ports::free_tcp_port;
use crate::process::{require, KillOnDrop};

/// The local account the tests log in as.
pub const TEST_USER: &str = "netpulse-test";
/// Its password (a throwaway account used only by these tests, only through loopback sshd).
pub const TEST_PASSWORD: &str = "np-Test-pw-4711";

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
pub fn ensure_test_user() {
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
            let useradd = require("useradd", "passwd");
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
        let mut chpasswd = Command::new(require("chpasswd", "passwd"))
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

/// A generated key pair: (private key text, public key line, SHA-256 fingerprint).
pub fn keygen(dir: &Path, name: &str, passphrase: &str) -> (String, String, String) {
    let path = dir.join(name);
    run_tool(
        Command::new(require("ssh-keygen", "openssh-client"))
            .args(["-q", "-t", "ed25519", "-C", name, "-N", passphrase, "-f"])
            .arg(&path),
    );
    let fp = run_tool(
        Command::new(require("ssh-keygen", "openssh-client"))
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
pub struct Sshd {
    _child: KillOnDrop,
    /// Where it listens on 127.0.0.1.
    pub port: u16,
    /// Fingerprint of its host key, as `ssh-keygen -lf` prints it.
    pub host_key_fingerprint: String,
    /// Private key (unencrypted) of an authorized client key.
    pub client_key: String,
    /// Private key, encrypted with [`Sshd::CLIENT_KEY_PASSPHRASE`], also authorized.
    pub client_key_encrypted: String,
    _dir: tempfile::TempDir,
}

impl Sshd {
    /// The passphrase of [`Sshd::client_key_encrypted`].
    pub const CLIENT_KEY_PASSPHRASE: &'static str = "key-passphrase";

    /// Without PAM: passwords are checked against the shadow file by sshd itself.
    pub fn start() -> Sshd {
        Self::start_with(false, "")
    }

    /// With `pam`, sshd asks the password through PAM, which is what backs
    /// keyboard-interactive authentication on Linux.
    /// `extra` is appended to the configuration.
    pub fn start_with(pam: bool, extra: &str) -> Sshd {
        let use_pam = if pam { "yes" } else { "no" };
        let sshd = require("sshd", "openssh-server");
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
        let port = free_tcp_port();
        let d = dir.path().display();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_ed25519\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM {use_pam}\n\
             PasswordAuthentication yes\nKbdInteractiveAuthentication yes\nPubkeyAuthentication yes\n\
             PermitRootLogin no\nAllowUsers {TEST_USER}\nLogLevel VERBOSE\n{extra}"
        );
        let config_path = dir.path().join("sshd_config");
        fs::write(&config_path, config).expect("sshd_config");
        let child = Command::new(&sshd)
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
        let mut child = KillOnDrop::new(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.exited() {
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
            _child: child,
            port,
            host_key_fingerprint: host_fp,
            client_key,
            client_key_encrypted,
            _dir: dir,
        }
    }
}
