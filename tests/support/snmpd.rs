//! A net-snmp `snmpd` that looks like a switch: it runs inside a network namespace given as many
//! (bridge) interfaces as the test asks for, so its IF-MIB `ifTable` has one row per port, as on
//! real gear. The namespace is reachable from the host, where the edge nodes run. The agent
//! itself is `netpulse_test_support::snmpd`.

use std::process::{Command, Stdio};

use netpulse_test_support::snmpd::{self, Snmpd};

use super::netns::Netns;

/// A running agent; killed (and its namespace removed) on drop.
pub struct Switch {
    /// The agent (declared first: dropped before its namespace).
    _agent: Snmpd,
    /// `ip:161` to point a monitor at.
    pub addr: String,
    /// Its namespace.
    pub ns: Netns,
}

impl Switch {
    /// A namespace `np-<tag>` on `10.<net>.0.0/24` with `ports` dummy interfaces and an agent
    /// answering v2c community `public`.
    pub fn start(tag: &str, net: u8, ports: usize) -> Switch {
        let bin = snmpd::binary();
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

        let addr = format!("{}:161", ns.ns_ip);
        let agent = Snmpd::start_via(
            ns.command(bin.to_str().expect("snmpd path")),
            &format!("rocommunity public {}\n", ns.host_ip),
            addr.parse().expect("agent address"),
            ns.host_ip.parse().expect("host address"),
        )
        .unwrap_or_else(|why| panic!("{why}"));
        Switch {
            _agent: agent,
            addr,
            ns,
        }
    }
}
