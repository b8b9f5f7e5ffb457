//! Test support: real `netpulse` processes on loopback, local targets, and an API client.
//!
//! Every test gets its own temporary directory. Processes are killed when their handle drops, so
//! a failing test leaves nothing running.

#![allow(dead_code)]

pub mod api;
pub mod chaos;
pub mod cluster;
pub mod netns;
pub mod snmpd;
pub mod wire_node;

/// Peers shared with the other crates' tests (`netpulse-test-support`): the webhook receiver,
/// the aiosmtpd sink and the local HTTP/TCP targets.
pub use netpulse_test_support::{receiver, smtp, target};

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_netpulse")
}

/// A running child process whose stdout lines are collected.
pub struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    name: String,
}

impl Proc {
    /// Spawns an arbitrary command with collected stdout.
    pub fn spawn_cmd(name: &str, cmd: &mut Command) -> Proc {
        Proc::spawn(name, cmd)
    }

    fn spawn(name: &str, cmd: &mut Command) -> Proc {
        let log =
            std::env::var("NETPULSE_TEST_LOG").unwrap_or_else(|_| "warn,openraft=error".into());
        let mut child = cmd
            .env("RUST_LOG", log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc {
            child,
            lines,
            seen: Vec::new(),
            name: name.to_owned(),
        }
    }

    /// Waits for a stdout line starting with `prefix` and returns the rest of it.
    pub fn wait_line(&mut self, prefix: &str, timeout: Duration) -> String {
        if let Some(l) = self.seen.iter().find(|l| l.starts_with(prefix)) {
            return l[prefix.len()..].trim().to_owned();
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let hit = l
                        .starts_with(prefix)
                        .then(|| l[prefix.len()..].trim().to_owned());
                    self.seen.push(l);
                    if let Some(rest) = hit {
                        return rest;
                    }
                }
                Err(_) => panic!(
                    "{}: no line starting with {prefix:?} within {timeout:?}; saw {:?}",
                    self.name, self.seen
                ),
            }
        }
    }

    /// SIGKILL, and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.wait_exit(Duration::from_secs(20))
            .unwrap_or_else(|| panic!("{} did not exit after SIGTERM", self.name))
    }

    /// Waits for the process to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A coordinator process and where it listens.
pub struct Coordinator {
    pub proc: Proc,
    pub dir: PathBuf,
    pub http: SocketAddr,
    pub quic: SocketAddr,
    /// Present after the first start only.
    pub admin_key: Option<String>,
    /// Raft id.
    pub id: u64,
    /// Extra arguments, repeated on restart.
    args: Vec<String>,
}

impl Coordinator {
    /// Starts a coordinator on fresh loopback ports (or the given ones, to restart in place).
    pub fn start(dir: &Path, ports: Option<(SocketAddr, SocketAddr)>) -> Coordinator {
        Coordinator::start_with(dir, "127.0.0.1", ports, Vec::new())
    }

    /// Starts a coordinator on `ip` (any 127.0.0.0/8 address) with extra arguments.
    pub fn start_with(
        dir: &Path,
        ip: &str,
        ports: Option<(SocketAddr, SocketAddr)>,
        args: Vec<String>,
    ) -> Coordinator {
        Coordinator::start_skewed(dir, ip, ports, args, None)
    }

    /// Like [`Coordinator::start_with`], with the process's wall clock shifted by `skew`
    /// (libfaketime syntax, e.g. `+90s`) when given.
    pub fn start_skewed(
        dir: &Path,
        ip: &str,
        ports: Option<(SocketAddr, SocketAddr)>,
        args: Vec<String>,
        skew: Option<&str>,
    ) -> Coordinator {
        let (http, quic) = ports.unwrap_or_else(|| {
            (
                format!("{ip}:0").parse().expect("addr"),
                format!("{ip}:0").parse().expect("addr"),
            )
        });
        let mut cmd = Command::new(bin());
        if let Some(skew) = skew {
            skew_clock(&mut cmd, skew);
        }
        let mut proc = Proc::spawn(
            &format!("coordinator@{ip}"),
            cmd.arg("coordinator")
                .arg("--data-dir")
                .arg(dir)
                .arg("--listen")
                .arg(http.to_string())
                .arg("--quic")
                .arg(quic.to_string())
                .args(&args),
        );
        let ui = proc.wait_line("UI: ", Duration::from_secs(60));
        let http: SocketAddr = ui
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("UI address");
        let quic: SocketAddr = proc
            .wait_line("QUIC: ", Duration::from_secs(5))
            .parse()
            .expect("QUIC address");
        let id: u64 = proc
            .wait_line("Coordinator id: ", Duration::from_secs(5))
            .parse()
            .expect("id");
        let key = proc.wait_line("Admin API key: ", Duration::from_secs(5));
        let admin_key = key.starts_with("npk_").then_some(key);
        Coordinator {
            proc,
            dir: dir.to_owned(),
            http,
            quic,
            admin_key,
            id,
            args,
        }
    }

    /// Restarts on the same data directory and ports (after the process was stopped).
    pub fn restart(self) -> Coordinator {
        let (dir, http, quic, key, args) = (
            self.dir.clone(),
            self.http,
            self.quic,
            self.admin_key.clone(),
            self.args.clone(),
        );
        drop(self);
        let ip = quic.ip().to_string();
        let mut c = Coordinator::start_with(&dir, &ip, Some((http, quic)), args);
        c.admin_key = key;
        c
    }

    /// API client with a given key (every member accepts the bootstrap admin key).
    pub fn api_with(&self, key: &str) -> api::Api {
        api::Api::new(self.http, key.to_owned())
    }

    /// API client with the admin key.
    pub fn api(&self) -> api::Api {
        api::Api::new(
            self.http,
            self.admin_key.clone().expect("admin key from first start"),
        )
    }
}

/// An edge node process.
pub struct Edge {
    pub proc: Proc,
    pub dir: PathBuf,
    pub region: String,
    pub coordinators: Vec<SocketAddr>,
}

impl Edge {
    /// Starts an edge node; `token` is needed on first start.
    pub fn start(dir: &Path, region: &str, coordinator: SocketAddr, token: Option<&str>) -> Edge {
        Edge::start_multi(dir, region, &[coordinator], token)
    }

    /// Starts an edge node that knows several coordinators (tried in this order).
    pub fn start_multi(
        dir: &Path,
        region: &str,
        coordinators: &[SocketAddr],
        token: Option<&str>,
    ) -> Edge {
        Edge::start_skewed(dir, region, coordinators, token, None)
    }

    /// Like [`Edge::start_multi`], with the wall clock shifted by `skew` when given.
    pub fn start_skewed(
        dir: &Path,
        region: &str,
        coordinators: &[SocketAddr],
        token: Option<&str>,
        skew: Option<&str>,
    ) -> Edge {
        Edge::start_with(dir, region, coordinators, token, skew, &[])
    }

    /// Like [`Edge::start_skewed`], with `extra` arguments after the usual ones (e.g.
    /// `--metrics-listen 127.0.0.1:0`).
    pub fn start_with(
        dir: &Path,
        region: &str,
        coordinators: &[SocketAddr],
        token: Option<&str>,
        skew: Option<&str>,
        extra: &[&str],
    ) -> Edge {
        let mut cmd = Command::new(bin());
        if let Some(skew) = skew {
            skew_clock(&mut cmd, skew);
        }
        cmd.arg("edge")
            .arg("--data-dir")
            .arg(dir)
            .arg("--region")
            .arg(region);
        for c in coordinators {
            cmd.arg("--coordinator").arg(c.to_string());
        }
        if let Some(t) = token {
            cmd.arg("--join-token").arg(t);
        }
        cmd.args(extra);
        let proc = Proc::spawn(&format!("edge-{region}"), &mut cmd);
        Edge {
            proc,
            dir: dir.to_owned(),
            region: region.to_owned(),
            coordinators: coordinators.to_vec(),
        }
    }

    /// One node in each of `regions` (data in `dir/<region>`), each knowing `coordinators`;
    /// returns once every one runs.
    pub fn start_regions(
        dir: &Path,
        regions: &[&str],
        coordinators: &[SocketAddr],
        token: &str,
    ) -> Vec<Edge> {
        let mut edges: Vec<Edge> = regions
            .iter()
            .map(|r| Edge::start_multi(&dir.join(r), r, coordinators, Some(token)))
            .collect();
        for e in &mut edges {
            e.wait_running();
        }
        edges
    }

    /// Waits until the node has enrolled and runs; returns its id.
    pub fn wait_running(&mut self) -> String {
        let line = self.proc.wait_line("Edge node ", Duration::from_secs(60));
        line.split_whitespace().next().expect("node id").to_owned()
    }

    /// Where the node serves `/metrics` (started with `--metrics-listen`), from its start line.
    pub fn metrics_addr(&mut self) -> SocketAddr {
        let rest = self
            .proc
            .wait_line("Edge metrics on http://", Duration::from_secs(60));
        rest.trim_end_matches("/metrics")
            .parse()
            .expect("metrics address")
    }

    /// Restarts on the same data directory (no token needed).
    pub fn restart(self) -> Edge {
        let (dir, region, coordinators) = (
            self.dir.clone(),
            self.region.clone(),
            self.coordinators.clone(),
        );
        drop(self);
        Edge::start_multi(&dir, &region, &coordinators, None)
    }
}

/// Shifts the wall clock of the process `cmd` starts by `skew` (e.g. `+90s`, `-300s`) with
/// libfaketime (Debian `faketime`, installed by `scripts/test-peers.sh`). Monotonic time is left
/// alone, as NTP leaves it: timers and timeouts behave, only the date is wrong.
pub fn skew_clock(cmd: &mut Command, skew: &str) {
    let lib = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|d| d.path().join("faketime/libfaketime.so.1"))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("libfaketime is missing: run scripts/test-peers.sh"));
    cmd.env("LD_PRELOAD", lib)
        .env("FAKETIME", skew)
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("FAKETIME_NO_CACHE", "1");
}

/// Polls `f` until it returns Some, or panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("netpulse-test-")
        .tempdir()
        .expect("tempdir")
}
