//! The processes of a chaos run: three coordinators and two edge nodes per region, each edge node
//! inside its region's namespace, with the operations faults are made of (kill, stop, continue,
//! restart). Dropping the mesh kills every process before the namespaces go.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use super::http::Http;
use super::net::{self, Table};
use super::procs;
use crate::support::cluster::SECRET;
use crate::support::netns::Netns;
use crate::support::{bin, Coordinator, Proc};

pub const REGIONS: [&str; 3] = ["eu-west", "us-east", "ap-south"];
pub const NODES_PER_REGION: usize = 2;

/// Arguments every coordinator gets: a short node timeout so placement moves within a round, and
/// frequent snapshots so a member that was down catches up from one.
const COORDINATOR_ARGS: [&str; 4] = ["--node-timeout", "5", "--snapshot-every", "1000"];

/// A coordinator's fixed facts, known while it is down.
pub struct CoordSlot {
    pub dir: PathBuf,
    pub ip: String,
    pub http: SocketAddr,
    pub quic: SocketAddr,
    pub id: u64,
    /// `None` never happens between rounds; a killed process keeps its handle until restarted.
    proc: Option<Coordinator>,
}

/// An edge node's fixed facts; `proc` is `None` while killed.
pub struct EdgeSlot {
    /// `eu-west/0` etc.
    pub name: String,
    pub region: usize,
    pub dir: PathBuf,
    pub id: String,
    proc: Option<Proc>,
}

pub struct Mesh {
    // Field order is drop order: processes first, then the namespaces they live in.
    pub coords: Vec<CoordSlot>,
    pub edges: Vec<EdgeSlot>,
    pub namespaces: Vec<Netns>,
    pub key: String,
    pub http: Http,
}

impl Mesh {
    /// Starts the namespaces, the cluster (first member bootstraps, the others join it) and the
    /// edge nodes, and waits until every node has enrolled.
    pub async fn start(dir: &Path) -> Mesh {
        let namespaces: Vec<Netns> = (0..REGIONS.len()).map(net::region_namespace).collect();
        for slot in 0..3 {
            Table::remove_stale(None, &net::coordinator_table(slot));
        }
        let mut coords: Vec<CoordSlot> = Vec::new();
        for (slot, ns) in namespaces.iter().enumerate() {
            let mut args: Vec<String> = if slot == 0 {
                vec!["--bootstrap".into()]
            } else {
                vec!["--join".into(), coords[0].quic.to_string()]
            };
            args.extend(["--join-secret".into(), SECRET.into()]);
            args.extend(COORDINATOR_ARGS.iter().map(|s| s.to_string()));
            let d = dir.join(format!("c{}", slot + 1));
            let c = tokio::task::block_in_place(|| {
                Coordinator::start_with(&d, &ns.host_ip, None, args)
            });
            coords.push(CoordSlot {
                dir: d,
                ip: ns.host_ip.clone(),
                http: c.http,
                quic: c.quic,
                id: c.id,
                proc: Some(c),
            });
        }
        let key = coords[0]
            .proc
            .as_ref()
            .and_then(|c| c.admin_key.clone())
            .expect("bootstrap prints the admin key");
        let http = Http::new(&key, Duration::from_secs(5));
        let (status, body) = http
            .post(
                coords[0].http,
                "/v1/join-tokens",
                &json!({"description": "chaos edge nodes"}),
            )
            .await
            .expect("join token");
        assert_eq!(status, 201, "{body}");
        let token = body["data"]["token"].as_str().expect("token").to_owned();
        let mut mesh = Mesh {
            coords,
            edges: Vec::new(),
            namespaces,
            key,
            http,
        };
        for (r, region) in REGIONS.iter().enumerate() {
            for k in 0..NODES_PER_REGION {
                let index = mesh.edges.len();
                mesh.edges.push(EdgeSlot {
                    name: format!("{region}/{k}"),
                    region: r,
                    dir: dir.join(format!("edge-{region}-{k}")),
                    id: String::new(),
                    proc: None,
                });
                let id = mesh.start_edge(index, Some(&token));
                mesh.edges[index].id = id;
            }
        }
        mesh
    }

    /// The coordinators' IPs, in slot order.
    pub fn coordinator_ips(&self) -> Vec<String> {
        self.coords.iter().map(|c| c.ip.clone()).collect()
    }

    /// Slot of the coordinator with Raft id `id`.
    pub fn slot_of(&self, id: u64) -> Option<usize> {
        self.coords.iter().position(|c| c.id == id)
    }

    /// The leader's slot, as the first coordinator that answers reports it.
    pub async fn leader(&self) -> Option<usize> {
        for c in &self.coords {
            if let Some(d) = self.http.data(c.http, "/v1/cluster").await {
                if let Some(id) = d["leader"].as_u64() {
                    return self.slot_of(id);
                }
            }
        }
        None
    }

    /// Starts (or restarts) edge node `index` in its region's namespace; returns its id once it
    /// runs. Each node lists every coordinator, starting at a different one, so sessions spread.
    pub fn start_edge(&mut self, index: usize, token: Option<&str>) -> String {
        let slot = &self.edges[index];
        let mut cmd = self.namespaces[slot.region].command(bin());
        cmd.arg("edge")
            .arg("--data-dir")
            .arg(&slot.dir)
            .arg("--region")
            .arg(REGIONS[slot.region]);
        for k in 0..self.coords.len() {
            let c = &self.coords[(index + k) % self.coords.len()];
            cmd.arg("--coordinator").arg(c.quic.to_string());
        }
        if let Some(t) = token {
            cmd.arg("--join-token").arg(t);
        }
        let mut proc = Proc::spawn_cmd(&format!("edge {}", slot.name), &mut cmd);
        let line =
            tokio::task::block_in_place(|| proc.wait_line("Edge node ", Duration::from_secs(60)));
        let id = line.split_whitespace().next().expect("node id").to_owned();
        self.edges[index].proc = Some(proc);
        id
    }

    pub fn kill_edge(&mut self, index: usize) {
        if let Some(mut p) = self.edges[index].proc.take() {
            p.kill9();
        }
    }

    /// SIGTERM, wait for the exit, start again: a clean restart.
    pub fn restart_edge(&mut self, index: usize) {
        if let Some(mut p) = self.edges[index].proc.take() {
            tokio::task::block_in_place(|| p.terminate());
        }
        let id = self.start_edge(index, None);
        assert_eq!(id, self.edges[index].id, "same identity after restart");
    }

    pub fn edge_running(&self, index: usize) -> bool {
        self.edges[index].proc.is_some()
    }

    pub fn kill_coordinator(&mut self, slot: usize) {
        if let Some(c) = self.coords[slot].proc.as_mut() {
            c.proc.kill9();
        }
    }

    /// Starts a killed coordinator again on the same directory and ports.
    pub fn restart_coordinator(&mut self, slot: usize) {
        let c = self.coords[slot].proc.take().expect("coordinator handle");
        let c = tokio::task::block_in_place(|| c.restart());
        assert_eq!(c.id, self.coords[slot].id, "same Raft id after restart");
        self.coords[slot].proc = Some(c);
    }

    /// SIGTERM, wait for a clean exit, start again.
    pub fn clean_restart_coordinator(&mut self, slot: usize) {
        let c = self.coords[slot].proc.as_mut().expect("coordinator handle");
        let status = tokio::task::block_in_place(|| c.proc.terminate());
        assert!(status.success(), "coordinator exits cleanly on SIGTERM");
        self.restart_coordinator(slot);
    }

    /// SIGSTOP; returns the pid to continue.
    pub fn stop_coordinator(&self, slot: usize) -> i32 {
        procs::stop(&self.coords[slot].dir)
    }

    pub fn stop_edge(&self, index: usize) -> i32 {
        procs::stop(&self.edges[index].dir)
    }

    /// Stops every edge node cleanly (end of run), so the state it leaves behind is final.
    pub fn terminate_edges(&mut self) {
        for e in &mut self.edges {
            if let Some(mut p) = e.proc.take() {
                tokio::task::block_in_place(|| p.terminate());
            }
        }
    }
}
