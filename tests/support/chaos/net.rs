//! The run's network: one namespace per region (both of its edge nodes inside), coordinators and
//! targets on the host ends of the namespaces' veth pairs, and nftables partitions that are
//! always deleted on drop.
//!
//! Every namespace routes everything through its host end, so an edge node reaches each
//! coordinator and target by the host address it listens on. A coordinator is cut off by host
//! rules on its address (UDP only: QUIC to peers and nodes stops, while the test still reads its
//! HTTP API, as in `t50`); a region by rules inside its namespace.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::netns::{run, Netns};

/// Third octet base of the regions' subnets: region `r` is `10.(60+r).0.0/24`.
const NET_BASE: u8 = 60;

/// Creates the namespace of region `r` (tag `cx<r>`), with a default route to the host.
pub fn region_namespace(r: usize) -> Netns {
    let ns = Netns::create(&format!("cx{r}"), NET_BASE + r as u8);
    run(&[
        "ip",
        "-n",
        &ns.name,
        "route",
        "add",
        "default",
        "via",
        &ns.host_ip,
    ]);
    ns
}

/// How a region is cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// From the coordinators only (UDP to and from their addresses): it keeps measuring and
    /// buffers its results.
    Coordinators,
    /// From everything beyond the namespace (a lost uplink): probes and canaries fail too, so
    /// its results must be marked impaired and must not vote.
    Uplink,
}

/// An nftables table that exists while this value lives (host, or inside a namespace).
pub struct Table {
    netns: Option<String>,
    name: String,
}

impl Table {
    /// Deletes a table left behind by an earlier run that was killed before its drops ran.
    pub fn remove_stale(netns: Option<&str>, name: &str) {
        let _ = nft_cmd(netns)
            .args(["delete", "table", "inet", name])
            .stderr(Stdio::null())
            .status();
    }

    fn load(netns: Option<&str>, name: &str, chains: &str) -> Table {
        Table::remove_stale(netns, name);
        let rules = format!("table inet {name} {{\n{chains}}}\n");
        let mut child = nft_cmd(netns)
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nft is required (scripts/test.sh installs nftables)");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(rules.as_bytes())
            .expect("write rules");
        let out = child.wait_with_output().expect("nft");
        assert!(
            out.status.success(),
            "nft refused {rules}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Table {
            netns: netns.map(str::to_owned),
            name: name.to_owned(),
        }
    }

    /// Drops UDP to and from the coordinator at `ip`, in both hooks: its peers and its edge
    /// sessions both go through the host stack.
    pub fn isolate_coordinator(slot: usize, ip: &str) -> Table {
        let rules =
            format!("ip saddr {ip} meta l4proto udp drop\n  ip daddr {ip} meta l4proto udp drop\n");
        Table::load(
            None,
            &coordinator_table(slot),
            &format!(
                " chain input {{\n  type filter hook input priority 0; policy accept;\n  {rules} }}\n \
                 chain output {{\n  type filter hook output priority 0; policy accept;\n  {rules} }}\n"
            ),
        )
    }

    /// Cuts region namespace `ns` off as `cut` says; `coordinators` are the coordinators' IPs.
    pub fn cut_region(ns: &Netns, cut: Cut, coordinators: &[String]) -> Table {
        let (out_rule, in_rule) = match cut {
            Cut::Coordinators => {
                let set = coordinators.join(", ");
                (
                    format!("ip daddr {{ {set} }} meta l4proto udp drop"),
                    format!("ip saddr {{ {set} }} meta l4proto udp drop"),
                )
            }
            Cut::Uplink => (
                "oifname != \"lo\" drop".to_owned(),
                "iifname != \"lo\" drop".to_owned(),
            ),
        };
        Table::load(
            Some(&ns.name),
            REGION_TABLE,
            &format!(
                " chain input {{\n  type filter hook input priority 0; policy accept;\n  {in_rule}\n }}\n \
                 chain output {{\n  type filter hook output priority 0; policy accept;\n  {out_rule}\n }}\n"
            ),
        )
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        let ok = nft_cmd(self.netns.as_deref())
            .args(["delete", "table", "inet", &self.name])
            .status()
            .is_ok_and(|s| s.success());
        if !ok && !std::thread::panicking() {
            panic!("could not delete nftables table {}", self.name);
        }
    }
}

/// Name of the host table that isolates coordinator `slot` (fixed, so a rerun removes leftovers).
pub fn coordinator_table(slot: usize) -> String {
    format!("netpulse_chaos_c{slot}")
}

/// Name of the table inside a region namespace.
pub const REGION_TABLE: &str = "netpulse_chaos_cut";

fn nft_cmd(netns: Option<&str>) -> Command {
    match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "nft"]);
            c
        }
        None => Command::new("nft"),
    }
}
