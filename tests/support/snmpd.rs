//! A net-snmp `snmpd` that looks like a switch: it runs inside a network namespace given as many
//! (bridge) interfaces as the test asks for, so its IF-MIB `ifTable` has one row per port, as on
//! real gear. The namespace is reachable from the host, where the edge nodes run.

use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::netns::Netns;

/// A running agent; killed (and its namespace removed) on drop.
pub struct Switch {
    child: Child,
    dir: tempfile::TempDir,
    /// `ip:161` to point a monitor at.
    pub addr: String,
    /// Its namespace (declared last: dropped after the agent).
    pub ns: Netns,
}

impl Switch {
    /// A namespace `np-<tag>` on `10.<net>.0.0/24` with `ports` dummy interfaces and an agent
    /// answering v2c community `public`.
    pub fn start(tag: &str, net: u8, ports: usize) -> Switch {
        let bin = ["/usr/sbin/snmpd", "/usr/bin/snmpd"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or_else(|| panic!("snmpd is missing: run scripts/test-peers.sh"));
        let ns = Netns::create(tag, net);
        let batch: String = (1..=ports)
            .map(|i| format!("link add port{i} type bridge\nlink set port{i} up\n"))
            .collect();
        let mut ip = Command::new("ip")
            .args(["-n", &ns.name, "-batch", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("ip -batch");
        {
            use std::io::Write;
            ip.stdin
                .take()
                .expect("stdin")
                .write_all(batch.as_bytes())
                .expect("write batch");
        }
        assert!(ip.wait().expect("ip").success(), "creating {ports} ports");

        let dir = tempfile::tempdir().expect("tempdir");
        let persist = dir.path().join("persist");
        std::fs::create_dir(&persist).expect("persistent dir");
        let conf = dir.path().join("snmpd.conf");
        std::fs::write(&conf, format!("rocommunity public {}\n", ns.host_ip)).expect("snmpd.conf");
        let log = std::fs::File::create(dir.path().join("snmpd.log")).expect("log");
        let addr = format!("{}:161", ns.ns_ip);
        let child = ns
            .command(bin)
            .args(["-f", "-Lo", "-C", "-c"])
            .arg(&conf)
            .arg("-p")
            .arg(dir.path().join("snmpd.pid"))
            .arg(format!("udp:{addr}"))
            .env("SNMP_PERSISTENT_DIR", &persist)
            .env("MIBS", "")
            .env("MIBDIRS", dir.path().join("no-mibs"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start snmpd");
        let mut s = Switch {
            child,
            dir,
            addr,
            ns,
        };
        s.wait_ready();
        s
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("snmpd.log")).unwrap_or_default()
    }

    /// Polls with a hand-made v2c GET of sysUpTime.0 (independent of the code under test).
    fn wait_ready(&mut self) {
        const GET_UPTIME: [u8; 40] = [
            0x30, 0x26, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa0,
            0x19, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30, 0x0c,
            0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x03, 0x00, 0x05, 0x00,
        ];
        let socket = UdpSocket::bind((self.ns.host_ip.as_str(), 0)).expect("udp");
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut buf = [0u8; 1500];
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("snmpd exited ({status}):\n{}", self.log());
            }
            let _ = socket.send_to(&GET_UPTIME, self.addr.as_str());
            if let Ok((n, _)) = socket.recv_from(&mut buf) {
                if n > 0 && buf[0] == 0x30 {
                    return;
                }
            }
        }
        panic!("snmpd gave no answer within 15 s:\n{}", self.log());
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
