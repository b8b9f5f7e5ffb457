//! net-snmp's `snmpd` (Debian `snmpd`) with a configuration given by the test, its persistent
//! directory, pid file and log in a temporary directory, and no MIB files loaded.
//!
//! [`Snmpd::start`] runs it on 127.0.0.1 and a free UDP port (the SNMP probe tests,
//! `probes/tests/probe_snmp.rs`); [`Snmpd::start_via`] runs it through a launcher such as
//! `ip netns exec` on a given address (the switch of the end-to-end tests,
//! `tests/support/snmpd.rs`). Either way it is polled until it answers, and killed on drop.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::ports::free_udp_port;
use crate::process::{install_hint, require, KillOnDrop};

/// How long an agent gets to answer its first request.
const READY_WITHIN: Duration = Duration::from_secs(15);

/// A running agent; killed and reaped on drop.
#[derive(Debug)]
pub struct Snmpd {
    child: KillOnDrop,
    /// Where it answers (UDP).
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

/// The installed `snmpd`; fails (never skips) when it is missing.
pub fn binary() -> PathBuf {
    require("snmpd", "snmpd")
}

impl Snmpd {
    /// An agent on 127.0.0.1 and a free UDP port with `conf` as its `snmpd.conf`; it must
    /// grant v2c community `public` to 127.0.0.1 (readiness is polled with it). A start that
    /// loses its port to another process is retried on a new one.
    pub fn start(conf: &str) -> Snmpd {
        let bin = binary();
        let localhost = IpAddr::from([127, 0, 0, 1]);
        for _attempt in 0..5 {
            let addr = SocketAddr::new(localhost, free_udp_port());
            match Snmpd::start_via(Command::new(&bin), conf, addr, localhost) {
                Ok(agent) => return agent,
                // Lost a race for the port: try another one.
                Err(log) if log.contains("Error opening specified endpoint") => continue,
                Err(log) => panic!("snmpd did not come up on {addr}:\n{log}"),
            }
        }
        panic!("snmpd could not bind a free port in 5 attempts");
    }

    /// An agent started by `launcher` (`Command::new(binary())`, or a command that runs
    /// [`binary`] elsewhere, e.g. `ip netns exec <ns> /usr/sbin/snmpd`), listening on `addr`,
    /// with `conf` as its `snmpd.conf`, which must grant v2c community `public` to `from`:
    /// readiness is polled from there. `Err` holds why it did not answer, with its log.
    pub fn start_via(
        mut launcher: Command,
        conf: &str,
        addr: SocketAddr,
        from: IpAddr,
    ) -> Result<Snmpd, String> {
        let dir = tempfile::tempdir().expect("tempdir");
        let persist = dir.path().join("persist");
        std::fs::create_dir(&persist).expect("persistent dir");
        let conf_path = dir.path().join("snmpd.conf");
        std::fs::write(&conf_path, conf).expect("write snmpd.conf");
        let log = std::fs::File::create(dir.path().join("snmpd.log")).expect("log file");
        let child = launcher
            .args(["-f", "-Lo", "-C", "-c"])
            .arg(&conf_path)
            .arg("-p")
            .arg(dir.path().join("snmpd.pid"))
            .arg(format!("udp:{addr}"))
            .env("SNMP_PERSISTENT_DIR", &persist)
            .env("MIBS", "")
            .env("MIBDIRS", dir.path().join("no-mibs"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start snmpd: {e}; {}", install_hint("snmpd")));
        let mut agent = Snmpd {
            child: KillOnDrop::new(child),
            addr,
            dir,
        };
        agent.wait_ready(from)?;
        Ok(agent)
    }

    /// The agent's log, without the noise of the MIB loader (there are no MIB files).
    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("snmpd.log")).unwrap_or_default();
        text.lines()
            .filter(|l| !l.contains("MIB") && !l.contains("module") && !l.contains("Did not find"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Polls with a hand-made v2c GET of sysUpTime.0 (independent of the code under test).
    fn wait_ready(&mut self, from: IpAddr) -> Result<(), String> {
        const GET_UPTIME: [u8; 40] = [
            0x30, 0x26, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa0,
            0x19, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30, 0x0c,
            0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x03, 0x00, 0x05, 0x00,
        ];
        let socket = UdpSocket::bind((from, 0)).map_err(|e| e.to_string())?;
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + READY_WITHIN;
        let mut buf = [0u8; 1500];
        while Instant::now() < deadline {
            if let Some(status) = self.child.exited() {
                return Err(format!("snmpd exited ({status}):\n{}", self.log()));
            }
            let _ = socket.send_to(&GET_UPTIME, self.addr);
            if let Ok((n, _)) = socket.recv_from(&mut buf) {
                if n > 0 && buf[0] == 0x30 {
                    return Ok(());
                }
            }
        }
        Err(format!(
            "snmpd gave no answer within {READY_WITHIN:?}:\n{}",
            self.log()
        ))
    }
}
