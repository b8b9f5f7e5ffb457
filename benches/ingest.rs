//! Ingest through a three-coordinator cluster: results/s committed and commit latency.
//!
//! Starts three real coordinators (127.0.0.1-3, release build), enrols synthetic edge nodes with
//! a real join token, and has each node stream result batches over its own mutually
//! authenticated QUIC session, one batch in flight as real nodes do. Two thirds of the nodes talk
//! to followers, so forwarding to the leader is part of the measured path. Latency is from
//! sending a batch to receiving its acknowledgement, which the coordinator sends only after the
//! batch is committed by a quorum (fsync'd) and applied. Run with `cargo bench --bench ingest`.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netpulse_protocol::frame::{self, FrameDecoder};
use netpulse_protocol::identity::{cert_to_pem, NodeIdentity, COORDINATOR_SERVER_NAME};
use netpulse_protocol::message::{CoordinatorMessage, EdgeMessage, Hello, ResultBatch};
use netpulse_protocol::result::{CheckResult, CheckStatus};
use netpulse_protocol::tls::{node_client_config, ALPN_EDGE};
use quinn::crypto::rustls::QuicClientConfig;
use serde_json::{json, Value};
use support::KillOnDrop;

const NODES: usize = 6;
const WINDOW: Duration = Duration::from_secs(8);

fn coordinator(
    dir: &std::path::Path,
    ip: &str,
    extra: &[&str],
) -> (KillOnDrop, String, String, Option<String>) {
    let mut child = Command::new(support::netpulse_bin())
        .args([
            "coordinator",
            "--data-dir",
            dir.to_str().expect("utf8"),
            "--listen",
            &format!("{ip}:0"),
            "--quic",
            &format!("{ip}:0"),
        ])
        .args(extra)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn coordinator");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut http, mut quic, mut key) = (String::new(), String::new(), None);
    for line in lines.by_ref().map_while(Result::ok) {
        if let Some(v) = line.strip_prefix("UI: ") {
            http = v.trim_end_matches('/').to_owned();
        } else if let Some(v) = line.strip_prefix("QUIC: ") {
            quic = v.to_owned();
        } else if let Some(v) = line.strip_prefix("Admin API key: ") {
            key = v.starts_with("npk_").then(|| v.to_owned());
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    (KillOnDrop::new(child), http, quic, key)
}

fn result(seq: u64, monitor: &str) -> CheckResult {
    CheckResult {
        seq,
        monitor_id: monitor.to_owned(),
        revision: 1,
        // Fresh, so every result goes through the region vote like a live one.
        checked_at_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
        status: CheckStatus::Up,
        duration_us: 1234,
        error: None,
        metrics: vec![("connect_ms".into(), 1.2), ("total_ms".into(), 3.4)],
        detail: None,
        facts: Vec::new(),
        impaired: false,
    }
}

async fn read_until_ack(recv: &mut quinn::RecvStream, dec: &mut FrameDecoder, seq: u64) -> bool {
    loop {
        while let Ok(Some(m)) = dec.next_frame::<CoordinatorMessage>() {
            if let CoordinatorMessage::Ack { up_to_seq } = m {
                if up_to_seq >= seq {
                    return true;
                }
            }
        }
        match recv.read_chunk(64 * 1024, true).await {
            Ok(Some(c)) => dec.push(&c.bytes),
            _ => return false,
        }
    }
}

/// One synthetic node: stream batches for `WINDOW`; returns (results acked, latencies).
async fn node(
    identity: NodeIdentity,
    ca: rustls::pki_types::CertificateDer<'static>,
    node_id: String,
    region: String,
    addr: String,
    monitor: String,
    batch: usize,
) -> (u64, Vec<Duration>) {
    let tls = node_client_config(&identity, &ca, ALPN_EDGE).expect("tls");
    let client =
        quinn::ClientConfig::new(Arc::new(QuicClientConfig::try_from(tls).expect("quic tls")));
    let endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().expect("addr")).expect("endpoint");
    let conn = endpoint
        .connect_with(client, addr.parse().expect("addr"), COORDINATOR_SERVER_NAME)
        .expect("connect")
        .await
        .expect("handshake");
    let (mut send, mut recv) = conn.open_bi().await.expect("stream");
    let hello = EdgeMessage::Hello(Hello {
        node_id,
        region,
        labels: Default::default(),
        version: "bench".into(),
    });
    send.write_all(&frame::encode(&hello).expect("encode"))
        .await
        .expect("hello");
    let mut dec = FrameDecoder::new();
    let mut seq = 0u64;
    let mut acked = 0u64;
    let mut lat = Vec::new();
    let start = Instant::now();
    while start.elapsed() < WINDOW {
        let results: Vec<CheckResult> = (0..batch)
            .map(|_| {
                seq += 1;
                result(seq, &monitor)
            })
            .collect();
        let t = Instant::now();
        send.write_all(
            &frame::encode(&EdgeMessage::Results(ResultBatch { results })).expect("encode"),
        )
        .await
        .expect("send");
        if !read_until_ack(&mut recv, &mut dec, seq).await {
            break;
        }
        lat.push(t.elapsed());
        acked += batch as u64;
    }
    conn.close(0u32.into(), b"done");
    (acked, lat)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() {
    support::run(2, run());
}

async fn run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (c1, http, q1, key) = coordinator(
        &dir.path().join("c1"),
        "127.0.0.1",
        &["--bootstrap", "--join-secret", "bench"],
    );
    let key = key.expect("admin key");
    let (c2, _, q2, _) = coordinator(
        &dir.path().join("c2"),
        "127.0.0.2",
        &["--join", &q1, "--join-secret", "bench"],
    );
    let (c3, _, q3, _) = coordinator(
        &dir.path().join("c3"),
        "127.0.0.3",
        &["--join", &q1, "--join-secret", "bench"],
    );
    let quic = [q1.clone(), q2, q3];
    let client = reqwest::Client::new();
    let token: Value = client
        .post(format!("{http}/v1/join-tokens"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let token = token["data"]["token"].as_str().expect("token").to_owned();
    let monitor = support::create_monitor(
        &client,
        &http,
        &key,
        &json!({"name": "bench", "kind": "tcp", "target": "127.0.0.1:9", "interval_s": 3600, "regions": ["all"]}),
    )
    .await;

    println!("ingest: 3 coordinators (Raft, fsync), {NODES} synthetic edge nodes, one batch in flight per node, {WINDOW:?} per run");
    println!(
        "{:>8} {:>14} {:>12} {:>12} {:>12}",
        "batch", "results/s", "batches/s", "p50 ms", "p99 ms"
    );
    for batch in [1usize, 100, 500] {
        let mut tasks = Vec::new();
        for i in 0..NODES {
            let region = format!("r{i}");
            let e = netpulse_edge::session::enrol(
                std::slice::from_ref(&q1),
                &token,
                &region,
                Duration::from_secs(30),
            )
            .await
            .expect("enrol");
            let id = NodeIdentity::from_pem(&cert_to_pem(&e.enrolled.cert_der), &e.key_pem)
                .expect("identity");
            let ca = rustls::pki_types::CertificateDer::from(e.enrolled.ca_der.clone());
            tasks.push(tokio::spawn(node(
                id,
                ca,
                e.enrolled.node_id,
                region,
                quic[i % 3].clone(),
                monitor.clone(),
                batch,
            )));
        }
        let (mut total, mut lat) = (0u64, Vec::new());
        for t in tasks {
            let (n, l) = t.await.expect("node task");
            total += n;
            lat.extend(l);
        }
        lat.sort();
        let secs = WINDOW.as_secs_f64();
        println!(
            "{:>8} {:>14.0} {:>12.0} {:>12.2} {:>12.2}",
            batch,
            total as f64 / secs,
            lat.len() as f64 / secs,
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
    }
    drop((c1, c2, c3));
}
