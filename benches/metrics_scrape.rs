//! `/metrics` cost: CPU time and bytes per scrape at 1,000 and 10,000 HTTP monitors × 3 regions.
//!
//! Builds the coordinator's state the way a running one does: the real engine over sled
//! (`StateStore`), monitors created by `PutMonitor`, three enrolled nodes, and one result per
//! monitor and region committed through `Ingest` commands (the apply path Raft drives), with
//! the timing metrics an HTTP probe reports. Then it times what a scrape runs: reading the
//! state (`metrics::gather_state`) and writing the exposition (`exposition::render`), both in
//! Prometheus text and OpenMetrics. Not included: the HTTP round trip and openraft's metrics
//! watch (a clone of a small struct). Prints CPU ms and bytes per scrape, series per scrape,
//! and µs and bytes per series (the issue names no reference; per series is what compares with
//! other exporters).
//!
//! Run with `cargo bench --bench metrics_scrape` (about a minute, most of it building the state).

mod support;

use std::time::Instant;

use netpulse_coordinator::metrics::{self, exposition, Format};
use netpulse_coordinator::store::StateStore;
use netpulse_engine::command::{AgedResult, Command, IngestBatch, IngestItem, NodeIngest};
use netpulse_engine::fixtures::{monitor_body, test_node, test_result};
use netpulse_engine::input::MonitorInput;
use netpulse_protocol::result::CheckStatus;

const REGIONS: [&str; 3] = ["eu-west", "us-east", "ap-south"];
const SCRAPES: usize = 5;

fn cpu_now() -> f64 {
    support::cpu_seconds(std::process::id())
}

/// Size of `text` gzipped at level 6 (what a scrape with `Accept-Encoding: gzip` sends, within
/// a few percent: tower-http's encoder uses flate2's default level too) and the wall time
/// gzip(1) took for it.
fn gzipped(text: &str) -> (usize, f64) {
    use std::io::Write as _;
    let started = Instant::now();
    let mut gz = std::process::Command::new("gzip")
        .arg("-6c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    let mut stdin = gz.stdin.take().expect("stdin");
    let body = text.as_bytes().to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let out = gz.wait_with_output().expect("gzip output");
    writer.join().expect("writer").expect("write to gzip");
    (out.stdout.len(), started.elapsed().as_secs_f64() * 1000.0)
}

fn build(n: usize) -> (tempfile::TempDir, StateStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sled::open(dir.path()).expect("sled");
    let store = StateStore::open(&db).expect("store");
    let mut index = 0u64;
    let mut apply = |cmd: Command| {
        index += 1;
        store.apply(&cmd, index).expect("apply");
    };
    for r in REGIONS {
        apply(Command::RegisterNode(test_node(r)));
    }
    let t0 = 1_790_000_000_000i64;
    for i in 0..n {
        let body = monitor_body(
            "http",
            "https://shop.example/health",
            "regions",
            serde_json::json!(REGIONS),
        );
        let input: MonitorInput = serde_json::from_value(body).expect("input");
        let mut m = input
            .validate()
            .map_err(|e| e.message())
            .expect("valid")
            .create(format!("mon_{i:016x}"), t0);
        m.name = format!("shop health {i}");
        apply(Command::PutMonitor {
            monitor: Box::new(m),
            expect_existing: false,
        });
    }
    // One result per monitor and region, in batches of 2,000 as the ingest batcher forms them.
    let mut seq = [0u64; 3];
    for chunk in (0..n).collect::<Vec<_>>().chunks(2_000 / REGIONS.len()) {
        let per_node = REGIONS
            .iter()
            .enumerate()
            .map(|(ri, r)| NodeIngest {
                node: test_node(r).id,
                sent_at_ms: Some(t0 + 1_000),
                items: chunk
                    .iter()
                    .map(|i| {
                        seq[ri] += 1;
                        let mut res = test_result(
                            seq[ri],
                            &format!("mon_{i:016x}"),
                            t0 + 500,
                            CheckStatus::Up,
                        );
                        res.duration_us = 41_250;
                        res.metrics = vec![
                            ("dns_ms".into(), 0.8),
                            ("connect_ms".into(), 1.9),
                            ("tls_ms".into(), 12.4),
                            ("time_to_first_byte_ms".into(), 38.2),
                            ("total_ms".into(), 41.0),
                            ("status_code".into(), 200.0),
                            ("body_bytes".into(), 1_532.0),
                            ("cert_days_left".into(), 61.0),
                        ];
                        IngestItem::Result(AgedResult {
                            age_ms: 500,
                            result: res,
                        })
                    })
                    .collect(),
            })
            .collect();
        apply(Command::Ingest(IngestBatch {
            received_at_ms: t0 + 1_000,
            per_node,
        }));
    }
    (dir, store)
}

fn main() {
    println!("| monitors × regions | format | CPU ms/scrape (gather + render) | bytes/scrape | gzip bytes (gzip -6 time) | series | µs/series | bytes/series |");
    println!("|---|---|---|---|---|---|---|---|");
    for n in [1_000usize, 10_000] {
        let (_dir, store) = build(n);
        // Warm up once (sled's page cache), then time.
        let snap = metrics::gather_state(&store).expect("gather");
        let regions: usize = snap.monitors.iter().map(|m| m.regions.len()).sum();
        assert_eq!(
            regions,
            n * REGIONS.len(),
            "a result per monitor and region"
        );
        for format in [Format::Prometheus, Format::OpenMetrics] {
            let mut bytes = 0;
            let mut series = 0;
            let (cpu0, wall0) = (cpu_now(), Instant::now());
            let mut gather_s = 0.0;
            for _ in 0..SCRAPES {
                let g = Instant::now();
                let snap = metrics::gather_state(&store).expect("gather");
                gather_s += g.elapsed().as_secs_f64();
                let text = exposition::render(&snap, format);
                bytes = text.len();
                series = text
                    .lines()
                    .filter(|l| !l.starts_with('#') && !l.is_empty())
                    .count();
                std::hint::black_box(&text);
            }
            let cpu_ms = (cpu_now() - cpu0) * 1000.0 / SCRAPES as f64;
            let snap = metrics::gather_state(&store).expect("gather");
            let (gz_bytes, gz_ms) = gzipped(&exposition::render(&snap, format));
            let wall_ms = wall0.elapsed().as_secs_f64() * 1000.0 / SCRAPES as f64;
            println!(
                "| {n} × 3 | {format:?} | {cpu_ms:.1} (wall {wall_ms:.1}, of which gather {:.1}) | {bytes} | {gz_bytes} ({gz_ms:.0} ms) | {series} | {:.2} | {:.0} |",
                gather_s * 1000.0 / SCRAPES as f64,
                cpu_ms * 1000.0 / series as f64,
                bytes as f64 / series as f64,
            );
        }
    }
}
