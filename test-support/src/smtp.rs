//! A real SMTP sink: aiosmtpd (Debian `python3-aiosmtpd`, installed by `scripts/test-peers.sh`)
//! on a free port, storing every accepted message in a Maildir. Plain SMTP, STARTTLS or
//! implicit TLS.
//!
//! Used by the e-mail channel tests (`alert/tests/email.rs`) and the end-to-end alert tests
//! (`tests/t60_alerts.rs`).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The system interpreter the Debian package installs into.
const PYTHON: &str = "/usr/bin/python3";

/// How the sink secures its port.
pub enum ServerTls<'a> {
    /// Plain SMTP.
    None,
    /// STARTTLS required before MAIL.
    Starttls {
        /// The certificate (chain) file, PEM.
        cert: &'a Path,
        /// Its private key, PEM.
        key: &'a Path,
    },
    /// TLS from the first byte.
    Implicit {
        /// The certificate (chain) file, PEM.
        cert: &'a Path,
        /// Its private key, PEM.
        key: &'a Path,
    },
}

use crate::process::KillOnDrop;

/// A running aiosmtpd; killed and reaped on drop.
pub struct SmtpSink {
    _child: KillOnDrop,
    /// Where it listens.
    pub addr: SocketAddr,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts on `ip` and a free port, with `extra` aiosmtpd arguments (`-s 200` limits the
    /// message size). Fails (never skips) when aiosmtpd is missing.
    pub fn start(ip: &str, tls: ServerTls<'_>, extra: &[&str]) -> SmtpSink {
        let installed = Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            installed,
            "aiosmtpd is not installed ({PYTHON} -c 'import aiosmtpd' failed): run \
             scripts/test-peers.sh, which installs the Debian package python3-aiosmtpd"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let maildir = dir.path().join("maildir");
        let port = TcpListener::bind((ip, 0))
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr: SocketAddr = format!("{ip}:{port}").parse().expect("address");
        let mut cmd = Command::new(PYTHON);
        cmd.args(["-m", "aiosmtpd", "-n", "-l", &addr.to_string()]);
        match tls {
            ServerTls::None => {}
            ServerTls::Starttls { cert, key } => {
                cmd.arg("--tlscert").arg(cert).arg("--tlskey").arg(key);
            }
            ServerTls::Implicit { cert, key } => {
                cmd.arg("--smtpscert").arg(cert).arg("--smtpskey").arg(key);
            }
        }
        cmd.args(extra);
        cmd.args(["-c", "aiosmtpd.handlers.Mailbox"]).arg(&maildir);
        cmd.stdout(Stdio::null()).stderr(Stdio::inherit());
        let mut child = KillOnDrop::new(cmd.spawn().expect("start aiosmtpd"));

        // Wait until it listens (or died). This is readiness polling, not a timing assertion.
        for _ in 0..300 {
            if let Some(status) = child.exited() {
                panic!("aiosmtpd exited early: {status}");
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return SmtpSink {
                    _child: child,
                    addr,
                    maildir,
                    _dir: dir,
                };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(child);
        panic!("aiosmtpd did not start listening on {addr}");
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every message received so far, raw. The handler stores a message before it answers 250,
    /// so after a successful send it is already here.
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) {
                for e in entries.flatten() {
                    if let Ok(text) = std::fs::read_to_string(e.path()) {
                        out.push(text);
                    }
                }
            }
        }
        out
    }
}
