//! `openssl s_server` (Debian `openssl`) on 127.0.0.1 and a free port, presenting a
//! certificate the test made (with rcgen), answering HTTP GETs itself (`-www`).
//!
//! Used by the TLS probe tests (`probes/tests/probes_real.rs`).

use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::ports::free_port_on;
use crate::process::{require, KillOnDrop};

/// What `s_server` presents, in PEM.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The leaf certificate.
    pub cert_pem: String,
    /// Its private key.
    pub key_pem: String,
    /// Intermediate certificates sent after the leaf.
    pub chain_pem: Option<String>,
}

/// `openssl s_server` on 127.0.0.1; killed on drop.
pub struct SServer {
    child: KillOnDrop,
    /// Where it accepts TLS on 127.0.0.1.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl SServer {
    /// Starts it presenting `id`, with `extra` s_server arguments (`-tls1_2` and the like);
    /// waits until it accepts connections.
    pub fn start(id: &Identity, extra: &[&str]) -> SServer {
        let openssl = require("openssl", "openssl");
        for _attempt in 0..5 {
            let dir = tempfile::tempdir().expect("tempdir");
            let cert = dir.path().join("cert.pem");
            let key = dir.path().join("key.pem");
            std::fs::write(&cert, &id.cert_pem).expect("cert");
            std::fs::write(&key, &id.key_pem).expect("key");
            let port = free_port_on(&["127.0.0.1"], &[]);
            let mut cmd = Command::new(&openssl);
            cmd.arg("s_server")
                .arg("-accept")
                .arg(format!("127.0.0.1:{port}"))
                .arg("-cert")
                .arg(&cert)
                .arg("-key")
                .arg(&key)
                // Answers HTTP GETs itself and never reads stdin.
                .arg("-www")
                .args(extra);
            if let Some(chain) = &id.chain_pem {
                let path = dir.path().join("chain.pem");
                std::fs::write(&path, chain).expect("chain");
                cmd.arg("-cert_chain").arg(path);
            }
            let log = std::fs::File::create(dir.path().join("s_server.log")).expect("log");
            let child = KillOnDrop::spawn_group(
                cmd.stdin(Stdio::null())
                    .stdout(log.try_clone().expect("log"))
                    .stderr(log),
            )
            .expect("spawn openssl s_server");
            let mut server = SServer {
                child,
                port,
                _dir: dir,
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if server.child.exited().is_some() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return server;
                }
                std::thread::sleep(Duration::from_millis(30));
            }
            let log = std::fs::read_to_string(server._dir.path().join("s_server.log"))
                .unwrap_or_default();
            eprintln!("s_server did not start on port {port}: {log}");
        }
        panic!("openssl s_server did not start");
    }
}
