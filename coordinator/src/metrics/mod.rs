//! `GET /metrics`: this coordinator's health and every monitor's latest results, for Prometheus
//! (mounted by [`crate::http`]).
//!
//! ## Layout
//!
//! - [`exposition`]: the pure part. A [`Snapshot`] of plain values in, Prometheus text 0.0.4
//!   or OpenMetrics 1.0 out; metric names, labels and units are decided there.
//! - this module: who may scrape ([`Allow`]), and [`gather`], which reads a snapshot from the
//!   replicated state and openraft's metrics watch.
//!
//! ## Access
//!
//! A scrape is answered when it presents a viewer-or-better API key (`Authorization: Bearer`,
//! as for `/v1`) or when its peer address is in one of the `--metrics-allow` networks.
//! Everything else gets the API's `401`.
//!
//! ## Cost
//!
//! One scrape reads every monitor once, its per-region latest view, its decision and votes,
//! and its newest results until each region's latest is found (a handful of rows): the state
//! is read off the async workers, on the blocking pool. `benches/metrics_scrape.rs` measures
//! it at 1,000 and 10,000 monitors.

pub mod exposition;
pub mod registry;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use netpulse_engine::decide::vote::Vote;

use crate::api::error::ApiError;
use crate::api::Caller;
use crate::context::Context;
pub use exposition::{Format, MonitorSample, RaftView, RegionSample, Runtime, Snapshot};

/// A network written as `ADDR/PREFIX` (`10.0.0.0/8`, `::1/128`), or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` is inside this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Why a `--metrics-allow` value is not a network.
#[derive(Debug, thiserror::Error)]
pub enum CidrError {
    /// The part before `/` is not an IP address.
    #[error("{input:?}: not an IP address or ADDR/PREFIX")]
    Address {
        input: String,
        #[source]
        source: std::net::AddrParseError,
    },
    /// The prefix is not a number from 0 to the address's width.
    #[error("{input:?}: prefix must be 0 to {max}")]
    Prefix { input: String, max: u8 },
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|source| CidrError::Address {
            input: s.to_owned(),
            source,
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => {
                p.parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| CidrError::Prefix {
                        input: s.to_owned(),
                        max,
                    })?
            }
        };
        Ok(Self { addr, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Networks whose addresses may scrape `/metrics` without an API key (`--metrics-allow`).
#[derive(Debug, Clone, Default)]
pub struct Allow(pub Arc<Vec<Cidr>>);

impl Allow {
    /// An allow list of `nets`.
    pub fn new(nets: Vec<Cidr>) -> Self {
        Self(Arc::new(nets))
    }

    /// Whether `ip` may scrape without a key.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }
}

/// `GET /metrics`.
pub async fn scrape(
    State(ctx): State<Context>,
    axum::Extension(allow): axum::Extension<Allow>,
    req: Request,
) -> Response {
    let (mut parts, _) = req.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if !peer.is_some_and(|ip| allow.permits(ip)) {
        // Any role may read: viewer, editor or admin.
        if let Err(e) = Caller::from_request_parts(&mut parts, &ctx).await {
            return e.into_response();
        }
    }
    let format = Format::negotiate(
        parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok()),
    );
    let body = match tokio::task::spawn_blocking(move || {
        gather(&ctx).map(|s| exposition::render(&s, format))
    })
    .await
    {
        Ok(Ok(body)) => body,
        Ok(Err(e)) => return ApiError::internal(e).into_response(),
        Err(e) => return ApiError::internal(e).into_response(),
    };
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        )],
        body,
    )
        .into_response()
}

/// Reads a [`Snapshot`] from this coordinator: Raft from openraft's metrics watch, the rest
/// from the replicated state. Blocking (sled reads): call it off the async workers.
pub fn gather(ctx: &Context) -> Result<Snapshot, netpulse_engine::state::StateError> {
    let started = std::time::Instant::now();
    let m = ctx.raft().metrics().borrow().clone();
    let raft = RaftView {
        id: ctx.id(),
        term: m.current_term,
        leader: m.current_leader,
        last_log_index: m.last_log_index,
        applied_index: m.last_applied.map(|l| l.index),
        snapshot_index: m.snapshot.map(|l| l.index),
    };
    let now = std::time::SystemTime::now();
    ctx.metrics().snapshot_index(raft.snapshot_index, now);
    let mut s = gather_state(ctx.store())?;
    s.runtime = ctx.metrics().runtime(now);
    s.runtime.log_entries = log_entries(m.last_log_index, m.purged.map(|l| l.index));
    s.runtime.process = netpulse_exposition::process::read();
    s.raft = raft;
    s.edge_sessions = ctx.sessions().live().len() as u64;
    s.gather_seconds = started.elapsed().as_secs_f64();
    Ok(s)
}

/// Entries in the log: from after the purged one (or from index 0, the first entry openraft
/// writes, when nothing was purged) to the last. `None` before the log has any entry.
pub fn log_entries(last: Option<u64>, purged: Option<u64>) -> Option<u64> {
    let last = last?;
    Some(match purged {
        Some(p) => last.saturating_sub(p),
        None => last + 1,
    })
}

/// Follows openraft's metrics so the snapshot's age is dated when its index changes, not at
/// the next scrape (openraft reports the snapshot's log position, not when it was taken).
/// Runs until `shutdown` flips or Raft stops.
pub async fn watch_snapshots(ctx: Context, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut rx = ctx.raft().metrics();
    loop {
        let index = rx.borrow_and_update().snapshot.map(|l| l.index);
        ctx.metrics()
            .snapshot_index(index, std::time::SystemTime::now());
        tokio::select! {
            r = rx.changed() => if r.is_err() { return },
            _ = shutdown.changed() => return,
        }
    }
}

/// The part of a [`Snapshot`] the replicated state holds (Raft and sessions left default).
pub fn gather_state(
    store: &crate::store::StateStore,
) -> Result<Snapshot, netpulse_engine::state::StateError> {
    let nodes = store.nodes()?;
    let mesh = store.mesh_entries()?;
    let abstaining: BTreeSet<(&str, &str)> = mesh
        .iter()
        .map(|e| (e.monitor_id.as_str(), e.region.as_str()))
        .collect();
    let mut by_reason: BTreeMap<(String, String), u64> = BTreeMap::new();
    for e in &mesh {
        *by_reason
            .entry((e.region.clone(), e.reason.as_str().to_owned()))
            .or_default() += 1;
    }
    let monitors = store.monitors()?;
    let mut samples = Vec::with_capacity(monitors.len());
    for mon in monitors {
        let latest = store.latest(&mon.id)?;
        let votes: BTreeMap<String, Vote> = store
            .region_tracks(&mon.id)?
            .into_iter()
            .map(|(r, t)| (r, t.vote))
            .collect();
        let mut metrics = newest_metrics(store, &mon.id, latest.len())?;
        let regions = latest
            .into_iter()
            .map(|l| RegionSample {
                vote: if abstaining.contains(&(mon.id.as_str(), l.region.as_str())) {
                    None
                } else {
                    votes.get(&l.region).map(|v| *v == Vote::Up)
                },
                metrics: metrics
                    .remove(&(l.region.clone(), l.checked_at_ms))
                    .unwrap_or_default(),
                region: l.region,
                status: l.status,
                checked_at_ms: l.checked_at_ms,
                duration_us: l.duration_us,
            })
            .collect();
        samples.push(MonitorSample {
            health: store.monitor_health(&mon.id)?.map(|h| h.decision.health),
            kind: mon.probe.kind(),
            id: mon.id,
            name: mon.name,
            paused: mon.paused,
            regions,
        });
    }
    let mut results_rejected = 0u64;
    for n in &nodes {
        results_rejected += store.node_ingest(&n.id)?.results_rejected;
    }
    Ok(Snapshot {
        results_rejected,
        notifications_pending: store.pending_notifications()?.len() as u64,
        incidents_open: store.open_incidents()?.len() as u64,
        nodes: nodes.iter().filter(|n| !n.revoked).count() as u64,
        nodes_live: nodes
            .iter()
            .filter(|n| !n.revoked && n.session.is_some())
            .count() as u64,
        monitors: samples,
        mesh_abstentions: by_reason
            .into_iter()
            .map(|((region, reason), n)| (region, reason, n))
            .collect(),
        ..Snapshot::default()
    })
}

/// A result's measurements by (region, measured at).
type Measured = BTreeMap<(String, i64), Vec<(String, f64)>>;

/// The measurements of the newest result of each region, read newest first and stopping once
/// `regions` regions are found or after a few rows per region.
fn newest_metrics(
    store: &crate::store::StateStore,
    monitor_id: &str,
    regions: usize,
) -> Result<Measured, netpulse_engine::state::StateError> {
    let mut out = BTreeMap::new();
    if regions == 0 {
        return Ok(out);
    }
    let mut seen = BTreeSet::new();
    for r in store.results(monitor_id, None, regions * 4)? {
        if seen.insert(r.region.clone()) {
            out.insert((r.region, r.checked_at_ms), r.metrics);
            if seen.len() == regions {
                break;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_entries_count_from_the_purged_index() {
        assert_eq!(log_entries(None, None), None);
        assert_eq!(log_entries(Some(0), None), Some(1));
        assert_eq!(log_entries(Some(120), None), Some(121));
        assert_eq!(log_entries(Some(120), Some(100)), Some(20));
        assert_eq!(log_entries(Some(100), Some(100)), Some(0));
    }

    #[test]
    fn cidrs_parse_and_match() {
        let net: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert_eq!(one.to_string(), "127.0.0.1/32");
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("192.0.2.1".parse().unwrap()));
        assert!(!all.contains("::1".parse().unwrap()));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("fe80::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nope/8".parse::<Cidr>().is_err());
        assert!(Allow::new(vec![net]).permits("10.1.0.1".parse().unwrap()));
        assert!(!Allow::default().permits("127.0.0.1".parse().unwrap()));
    }

    /// Every kind with every field set, secrets included: the scrape names the monitors but
    /// shows no target, query string, header, body or credential.
    #[test]
    fn no_target_or_secret_reaches_the_exposition() {
        use netpulse_engine::command::Command;
        use netpulse_engine::fixtures::monitor_samples;
        use netpulse_engine::input::MonitorInput;

        let dir = tempfile::tempdir().expect("tempdir");
        let db = sled::open(dir.path()).expect("sled");
        let store = crate::store::StateStore::open(&db).expect("store");
        let mut index = 0;
        for (kind, mut body) in monitor_samples() {
            if kind == "http" {
                body["target"] = "https://shop.example/health?token=qs-secret".into();
            }
            let input: MonitorInput = serde_json::from_value(body).expect("input");
            let monitor = input
                .validate()
                .unwrap_or_else(|e| panic!("{kind}: {}", e.message()))
                .create(format!("mon_{kind}"), 1_700_000_000_000);
            index += 1;
            store
                .apply(
                    &Command::PutMonitor {
                        monitor: Box::new(monitor),
                        expect_existing: false,
                    },
                    index,
                )
                .expect("apply");
        }
        let snapshot = gather_state(&store).expect("gather");
        assert_eq!(snapshot.monitors.len(), 7);
        for format in [Format::Prometheus, Format::OpenMetrics] {
            let text = exposition::render(&snapshot, format);
            assert!(
                text.contains("monitor_id=\"mon_ssh\",monitor_name=\"ssh sample\",kind=\"ssh\"")
            );
            for secret in [
                "s3cret",
                "qs-secret",
                "token=",
                "shop.example",
                "ping",
                "OPENSSH",
                "EHLO",
                "mail.example.org",
                "switch.example.org",
                "[::1]",
                "uptime",
                "load average",
            ] {
                assert!(!text.contains(secret), "{secret} in\n{text}");
            }
        }
    }
}
