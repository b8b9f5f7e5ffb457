//! `nsd`, the authoritative DNS server (Debian `nsd`), serving one test zone for
//! [`ORIGIN`] on a free port of 127.0.0.1 (and ::1 when asked), from a temporary directory.
//!
//! Used by the DNS probe tests (`probes/tests/probes_real.rs`) and the probe cost benchmark
//! (`benches/probe_cost.rs`).

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::ports::free_port_on;
use crate::process::{require, KillOnDrop};

/// The zone every [`Nsd`] serves; its zone text must start with `$ORIGIN example.test.`.
pub const ORIGIN: &str = "example.test";

/// Where it listens and how it is tuned.
#[derive(Debug, Clone, Copy, Default)]
pub struct NsdOptions<'a> {
    /// Listen on ::1 too (same port).
    pub ipv6: bool,
    /// Extra lines for the `server:` clause, each indented by four spaces and ended by a
    /// newline (e.g. `"    rrl-ratelimit: 0\n"` to turn off response rate limiting under load).
    pub server_extra: &'a str,
}

/// A running nsd; its process group (the server and xfrd processes it forks) is stopped on
/// drop.
#[derive(Debug)]
pub struct Nsd {
    child: KillOnDrop,
    /// The UDP and TCP port it answers on.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Nsd {
    /// Serves `zone` on 127.0.0.1 and ::1.
    pub fn start(zone: &str) -> Nsd {
        Nsd::start_with(
            zone,
            NsdOptions {
                ipv6: true,
                ..NsdOptions::default()
            },
        )
    }

    /// Serves `zone` as `options` say. The configuration is checked with `nsd-checkconf`
    /// first; a start that loses its port to another process is retried on a new one. Fails
    /// (never skips) when nsd is missing.
    pub fn start_with(zone: &str, options: NsdOptions<'_>) -> Nsd {
        let nsd = require("nsd", "nsd");
        let checkconf = require("nsd-checkconf", "nsd");
        let ips: &[&str] = if options.ipv6 {
            &["127.0.0.1", "::1"]
        } else {
            &["127.0.0.1"]
        };
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let dir = tempfile::tempdir().expect("tempdir");
            let port = free_port_on(ips, ips);
            let conf_path = write_config(dir.path(), ips, port, options.server_extra, zone);
            let check = Command::new(&checkconf)
                .arg(&conf_path)
                .output()
                .expect("run nsd-checkconf");
            assert!(
                check.status.success(),
                "nsd-checkconf refused the test configuration: {}",
                String::from_utf8_lossy(&check.stderr)
            );
            let child = KillOnDrop::spawn_group(
                Command::new(&nsd)
                    .args(["-d", "-c"])
                    .arg(&conf_path)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null()),
            )
            .expect("spawn nsd");
            let mut server = Nsd { child, port, dir };
            if server.wait_ready() {
                return server;
            }
            last_log = server.log();
        }
        panic!("nsd did not start; last log:\n{last_log}");
    }

    /// Its log file.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("nsd.log")).unwrap_or_default()
    }

    /// Polls with a hand-made SOA query (not the probe under test) until nsd answers.
    fn wait_ready(&mut self) -> bool {
        let query: &[u8] = b"\x4e\x50\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\
                              \x07example\x04test\x00\x00\x06\x00\x01";
        let Ok(sock) = UdpSocket::bind("127.0.0.1:0") else {
            return false;
        };
        let _ = sock.set_read_timeout(Some(Duration::from_millis(100)));
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.exited().is_some() {
                return false;
            }
            let _ = sock.send_to(query, ("127.0.0.1", self.port));
            let mut buf = [0u8; 512];
            if let Ok((n, _)) = sock.recv_from(&mut buf) {
                if n > 12 && buf[0..2] == query[0..2] {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

/// Writes `nsd.conf` and the zone file under `dir`; returns the configuration's path.
fn write_config(dir: &Path, ips: &[&str], port: u16, server_extra: &str, zone: &str) -> PathBuf {
    let d = dir.display();
    let listen: String = ips
        .iter()
        .map(|ip| format!("    ip-address: {ip}\n"))
        .collect();
    let conf = format!(
        "server:\n{listen}    port: {port}\n    \
         username: \"\"\n    chroot: \"\"\n    zonesdir: \"{d}\"\n    database: \"\"\n    \
         pidfile: \"{d}/nsd.pid\"\n    xfrdfile: \"{d}/xfrd.state\"\n    \
         zonelistfile: \"{d}/zone.list\"\n    logfile: \"{d}/nsd.log\"\n    \
         server-count: 1\n    verbosity: 1\n    reuseport: no\n{server_extra}\
         remote-control:\n    control-enable: no\n\
         zone:\n    name: \"{ORIGIN}\"\n    zonefile: \"{ORIGIN}.zone\"\n"
    );
    let conf_path = dir.join("nsd.conf");
    std::fs::write(&conf_path, conf).expect("write nsd.conf");
    std::fs::write(dir.join(format!("{ORIGIN}.zone")), zone).expect("write the zone file");
    conf_path
}
