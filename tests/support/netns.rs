//! A network namespace joined to the host by a veth pair, so one edge node can lose its network
//! (nftables inside the namespace) while the rest of the test keeps its own.

use std::process::Command;

/// A namespace `name` with address `10.<net>.0.2`, reaching the host at `10.<net>.0.1`.
pub struct Netns {
    pub name: String,
    pub host_ip: String,
    pub ns_ip: String,
}

/// Runs a command to completion; panics with its stderr when it fails.
pub fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Netns {
    /// Creates the namespace; `net` picks the 10.<net>.0.0/24 subnet (unique per test).
    pub fn create(tag: &str, net: u8) -> Netns {
        let name = format!("np-{tag}");
        let host_if = format!("nph-{tag}");
        let ns_if = format!("npn-{tag}");
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let _ = Command::new("ip").args(["link", "del", &host_if]).output();
        let (host_ip, ns_ip) = (format!("10.{net}.0.1"), format!("10.{net}.0.2"));
        run(&["ip", "netns", "add", &name]);
        run(&[
            "ip", "link", "add", &host_if, "type", "veth", "peer", "name", &ns_if,
        ]);
        run(&["ip", "link", "set", &ns_if, "netns", &name]);
        run(&[
            "ip",
            "addr",
            "add",
            &format!("{host_ip}/24"),
            "dev",
            &host_if,
        ]);
        run(&["ip", "link", "set", &host_if, "up"]);
        run(&[
            "ip",
            "-n",
            &name,
            "addr",
            "add",
            &format!("{ns_ip}/24"),
            "dev",
            &ns_if,
        ]);
        run(&["ip", "-n", &name, "link", "set", &ns_if, "up"]);
        run(&["ip", "-n", &name, "link", "set", "lo", "up"]);
        Netns {
            name,
            host_ip,
            ns_ip,
        }
    }

    /// Replaces the namespace's outbound filter: drop everything to the host except UDP to
    /// `allow_udp_port` (the coordinator's QUIC) and TCP to `allow_tcp_ports`.
    pub fn cut_off(&self, allow_udp_port: u16, allow_tcp_ports: &[u16]) {
        let mut rules = format!(
            "table inet cut {{ chain out {{ type filter hook output priority 0; policy accept; \
             ip daddr {host} udp dport {allow_udp_port} accept; ",
            host = self.host_ip
        );
        for p in allow_tcp_ports {
            rules.push_str(&format!("ip daddr {} tcp dport {p} accept; ", self.host_ip));
        }
        rules.push_str(&format!("ip daddr {} drop; }} }}", self.host_ip));
        self.nft(&rules);
    }

    /// Drops only TCP to one port on the host (the target, as seen from this namespace).
    pub fn block_tcp(&self, port: u16) {
        self.nft(&format!(
            "table inet cut {{ chain out {{ type filter hook output priority 0; policy accept; \
             ip daddr {} tcp dport {port} drop; }} }}",
            self.host_ip
        ));
    }

    /// Removes every filter.
    pub fn heal(&self) {
        let _ = Command::new("ip")
            .args([
                "netns", "exec", &self.name, "nft", "delete", "table", "inet", "cut",
            ])
            .output();
    }

    fn nft(&self, rules: &str) {
        use std::io::Write;
        self.heal();
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.name, "nft", "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("nft");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(rules.replace("; ", ";\n").replace("} }", "}\n}").as_bytes())
            .expect("write rules");
        let out = child.wait_with_output().expect("nft");
        assert!(
            out.status.success(),
            "nft {rules}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace deletes its veth end, and with it the host end.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}
