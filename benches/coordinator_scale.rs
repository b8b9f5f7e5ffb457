//! A coordinator holding 100,000 monitors: memory and disk per monitor, how fast monitors are
//! written and reach their nodes, placement time when a node joins or dies, and API list time.
//!
//! One real coordinator (release build) and synthetic edge nodes that enrol with a real join
//! token and hold real mutually authenticated QUIC sessions: they take their assignments
//! (`AssignmentFull` and the deltas after it) and send heartbeats, and never probe, so the
//! figures are the coordinator's alone. Monitors are TCP checks in three regions.
//!
//! `cargo bench --bench coordinator_scale` (COORD_SCALE_MONITORS, default 100000; about
//! 10 minutes at the default on 2 cores). Goals (issue 10): under 4 KB per monitor in memory
//! and on disk once the log is compacted; measured by hand before: 23.7 KB resident and about
//! 17 KB of disk per monitor at 5,000 monitors, and `GET /v1/monitors` answering 4.2 MB at once.

mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netpulse_protocol::frame::{self, FrameDecoder};
use netpulse_protocol::identity::{cert_to_pem, NodeIdentity, COORDINATOR_SERVER_NAME};
use netpulse_protocol::message::{CoordinatorMessage, EdgeMessage, Hello};
use netpulse_protocol::tls::{node_client_config, ALPN_EDGE};
use quinn::crypto::rustls::QuicClientConfig;
use serde_json::{json, Value};

const REGIONS: [&str; 3] = ["eu-west", "us-east", "ap-south"];
/// How long a silent node keeps its checks (the coordinator's `--node-timeout`).
const NODE_TIMEOUT_S: u64 = 5;

/// A synthetic node's session: how many checks it holds, and a switch to hang up.
struct Held {
    checks: Arc<AtomicUsize>,
    welcomed: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Held {
    fn len(&self) -> usize {
        self.checks.load(Ordering::Relaxed)
    }
}

async fn enrol(
    quic: &str,
    token: &str,
    region: &str,
) -> (
    NodeIdentity,
    rustls::pki_types::CertificateDer<'static>,
    String,
) {
    let e =
        netpulse_edge::session::enrol(&[quic.to_owned()], token, region, Duration::from_secs(30))
            .await
            .expect("enrol");
    let identity =
        NodeIdentity::from_pem(&cert_to_pem(&e.enrolled.cert_der), &e.key_pem).expect("identity");
    (identity, e.enrolled.ca_der.into(), e.enrolled.node_id)
}

/// Holds a session for a node until `stop`: applies assignments, heartbeats every 5 s.
fn hold(quic: String, token: String, region: &'static str) -> Held {
    let held = Held {
        checks: Arc::default(),
        welcomed: Arc::default(),
        stop: Arc::default(),
    };
    let (checks, welcomed, stop) = (
        held.checks.clone(),
        held.welcomed.clone(),
        held.stop.clone(),
    );
    tokio::spawn(async move {
        let (identity, ca, node_id) = enrol(&quic, &token, region).await;
        let tls = node_client_config(&identity, &ca, ALPN_EDGE).expect("tls");
        let client =
            quinn::ClientConfig::new(Arc::new(QuicClientConfig::try_from(tls).expect("quic tls")));
        let endpoint =
            quinn::Endpoint::client("127.0.0.1:0".parse().expect("addr")).expect("endpoint");
        let conn = endpoint
            .connect_with(client, quic.parse().expect("addr"), COORDINATOR_SERVER_NAME)
            .expect("connect")
            .await
            .expect("handshake");
        let (mut send, mut recv) = conn.open_bi().await.expect("stream");
        let hello = EdgeMessage::Hello(Hello {
            node_id,
            region: region.into(),
            labels: Default::default(),
            version: "bench".into(),
        });
        send.write_all(&frame::encode(&hello).expect("encode"))
            .await
            .expect("hello");
        let mut dec = FrameDecoder::new();
        let mut set: HashSet<String> = HashSet::new();
        let mut beat = tokio::time::interval(Duration::from_secs(5));
        loop {
            if stop.load(Ordering::Relaxed) {
                conn.close(0u32.into(), b"bench node leaves");
                return;
            }
            tokio::select! {
                chunk = recv.read_chunk(1 << 20, true) => {
                    let Ok(Some(chunk)) = chunk else {
                        println!("  bench node in {region}: session ended ({chunk:?})");
                        return;
                    };
                    dec.push(&chunk.bytes);
                    while let Some(m) = dec.next_frame::<CoordinatorMessage>().expect("valid frame") {
                        match m {
                            CoordinatorMessage::Welcome { .. } => welcomed.store(true, Ordering::Relaxed),
                            CoordinatorMessage::AssignmentFull { checks } => {
                                set = checks.into_iter().map(|c| c.monitor_id).collect();
                            }
                            CoordinatorMessage::AssignmentDelta { upsert, remove } => {
                                for id in remove {
                                    set.remove(&id);
                                }
                                set.extend(upsert.into_iter().map(|c| c.monitor_id));
                            }
                            _ => {}
                        }
                    }
                    checks.store(set.len(), Ordering::Relaxed);
                }
                _ = beat.tick() => {
                    let hb = EdgeMessage::Heartbeat { now_ms: now_ms() };
                    if send.write_all(&frame::encode(&hb).expect("encode")).await.is_err() {
                        return;
                    }
                }
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
    });
    held
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        match e.metadata() {
            Ok(m) if m.is_dir() => total += dir_bytes(&e.path()),
            Ok(m) => total += m.len(),
            Err(_) => {}
        }
    }
    total
}

/// Polls `done` until it holds; prints `status` every 10 s meanwhile and panics with it after
/// `limit`.
async fn until(
    what: &str,
    limit: Duration,
    mut done: impl FnMut() -> bool,
    status: impl Fn() -> String,
) -> Duration {
    let t = Instant::now();
    let mut said = Instant::now();
    while !done() {
        assert!(
            t.elapsed() < limit,
            "{what}: not within {limit:?} ({})",
            status()
        );
        if said.elapsed() > Duration::from_secs(10) {
            println!("  waiting for {what}: {}", status());
            said = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t.elapsed()
}

fn main() {
    support::run(2, run());
}

async fn run() {
    let n: usize = std::env::var("COORD_SCALE_MONITORS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("c1");
    let timeout = NODE_TIMEOUT_S.to_string();
    let coord = support::start_coordinator_with(
        &data,
        &["--node-timeout", &timeout, "--snapshot-every", "5000"],
    );
    let (base, quic, key) = (coord.base.clone(), coord.quic.clone(), coord.key.clone());
    let pid = coord.proc.id();
    let client = reqwest::Client::new();
    let token = || coord.join_token(&client);
    let mut nodes = Vec::new();
    for r in REGIONS {
        nodes.push(hold(quic.clone(), token().await, r));
    }
    let held = |nodes: &[&Held]| {
        nodes
            .iter()
            .map(|h| h.len().to_string())
            .collect::<Vec<_>>()
            .join(" / ")
    };
    until(
        "nodes connected",
        Duration::from_secs(60),
        || nodes.iter().all(|h| h.welcomed.load(Ordering::Relaxed)),
        String::new,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss0 = support::proc_status_bytes(pid, "VmRSS");
    let disk0 = dir_bytes(&data);

    // Write the monitors, 32 requests in flight.
    println!("writing {n} monitors ...");
    let t = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for _ in 0..32 {
        let (client, base, key, next) = (client.clone(), base.clone(), key.clone(), next.clone());
        writers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                let body = json!({"name": format!("svc-{i:06}"), "kind": "tcp",
                    "target": format!("10.{}.{}.{}:443", i / 65536, (i / 256) % 256, i % 256),
                    "interval_s": 60, "timeout_s": 5, "regions": REGIONS});
                support::create_monitor(&client, &base, &key, &body).await;
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    let write = t.elapsed();
    let propagate = until(
        "every node holds every check",
        Duration::from_secs(600),
        || nodes.iter().all(|h| h.len() == n),
        || format!("held {}", held(&nodes.iter().collect::<Vec<_>>())),
    )
    .await;
    println!("written in {write:.1?}; every node held all {n} checks {propagate:.1?} later");

    // Let snapshots compact the log, then measure.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let rss = support::proc_status_bytes(pid, "VmRSS");
    let disk = dir_bytes(&data);

    // API: the first page, and every page.
    let t = Instant::now();
    let (mut listed, mut cursor) = (0usize, None::<String>);
    let (mut first_page, mut page_bytes) = (None, 0usize);
    loop {
        let url = match &cursor {
            Some(c) => format!("{base}/v1/monitors?limit=1000&cursor={c}"),
            None => format!("{base}/v1/monitors?limit=1000"),
        };
        let body = client
            .get(url)
            .bearer_auth(&key)
            .send()
            .await
            .expect("list")
            .bytes()
            .await
            .expect("body");
        if first_page.is_none() {
            first_page = Some(t.elapsed());
            page_bytes = body.len();
        }
        let v: Value = serde_json::from_slice(&body).expect("json");
        listed += v["data"].as_array().map_or(0, Vec::len);
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let all_pages = t.elapsed();
    let first_page = first_page.expect("one page at least");
    assert_eq!(listed, n);

    // A second node joins eu-west: about half of eu-west's checks move to it.
    let joiner = hold(quic.clone(), token().await, "eu-west");
    until(
        "joiner connected",
        Duration::from_secs(60),
        || joiner.welcomed.load(Ordering::Relaxed),
        String::new,
    )
    .await;
    let join_moved = until(
        "placement after a join",
        Duration::from_secs(600),
        || {
            let (a, b) = (nodes[0].len(), joiner.len());
            b > n / 4 && a + b == n
        },
        || {
            format!(
                "eu-west holds {}, the joiner {}",
                nodes[0].len(),
                joiner.len()
            )
        },
    )
    .await;
    let moved = joiner.len();
    // It dies (session gone, silent): after the node timeout its checks move back.
    joiner.stop.store(true, Ordering::Relaxed);
    let death = until(
        "placement after a death",
        Duration::from_secs(600),
        || nodes[0].len() == n,
        || format!("eu-west holds {}", nodes[0].len()),
    )
    .await;

    let per = |bytes: u64, base: u64| bytes.saturating_sub(base) as f64 / n as f64;
    println!();
    println!("coordinator with {n} TCP monitors in 3 regions (3 synthetic nodes holding sessions)");
    println!("| measure | value | goal / before |");
    println!("|---|---|---|");
    println!("| resident memory per monitor | {:.2} KB ({} MB total, {} MB at 0) | < 4 KB / 23.7 KB at 5,000 |", per(rss, rss0) / 1024.0, rss / (1 << 20), rss0 / (1 << 20));
    println!("| disk per monitor (log compacted every 5,000 entries) | {:.2} KB ({} MB total) | < 4 KB / ~17 KB at 5,000 |", per(disk, disk0) / 1024.0, disk / (1 << 20));
    println!(
        "| monitors written per second (32 clients) | {:.0} | |",
        n as f64 / write.as_secs_f64()
    );
    println!(
        "| all checks on all nodes after the last write | {:.2} s | |",
        propagate.as_secs_f64()
    );
    println!(
        "| node joins: {moved} checks moved to it | {:.2} s | |",
        join_moved.as_secs_f64()
    );
    println!("| node dies: its checks back on the other | {:.2} s after the {NODE_TIMEOUT_S} s node timeout | |", death.as_secs_f64() - NODE_TIMEOUT_S as f64);
    println!(
        "| GET /v1/monitors first page (1,000) | {:.1} ms, {} KB | 4.2 MB whole list at 5,000 |",
        first_page.as_secs_f64() * 1000.0,
        page_bytes / 1024
    );
    println!(
        "| GET /v1/monitors, all {} pages | {:.2} s | |",
        n.div_ceil(1000),
        all_pages.as_secs_f64()
    );
    drop(coord);
    // COORD_SCALE_KEEP=1 keeps the data directory, to look at what each tree holds.
    if std::env::var_os("COORD_SCALE_KEEP").is_some() {
        println!("data kept in {}", dir.keep().join("c1").display());
    }
}
