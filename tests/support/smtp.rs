//! A real SMTP sink: aiosmtpd (Debian `python3-aiosmtpd`, installed by scripts/test-peers.sh)
//! storing every accepted message in a Maildir.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The system interpreter the Debian package installs into.
const PYTHON: &str = "/usr/bin/python3";

/// A running aiosmtpd; killed on drop.
pub struct SmtpSink {
    child: Child,
    pub addr: SocketAddr,
    maildir: PathBuf,
}

impl SmtpSink {
    /// Starts on `ip` and a free port. Fails (never skips) when aiosmtpd is missing.
    pub fn start(ip: &str, dir: &std::path::Path) -> SmtpSink {
        let ok = Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "aiosmtpd is missing: run scripts/test-peers.sh (installs python3-aiosmtpd)"
        );
        let port = TcpListener::bind((ip, 0))
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr: SocketAddr = format!("{ip}:{port}").parse().expect("addr");
        let maildir = dir.join("maildir");
        let mut child = Command::new(PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-l", &addr.to_string()])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start aiosmtpd");
        for _ in 0..300 {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("aiosmtpd exited early: {status}");
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return SmtpSink {
                    child,
                    addr,
                    maildir,
                };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("aiosmtpd did not listen on {addr}");
    }

    /// Every message received so far, raw.
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

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
