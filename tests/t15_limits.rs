//! Results at and beyond every protocol limit, sent by a hand-written node over a real session:
//! the coordinator stores what fits, commits the rest as rejected, counts it per node, and the
//! session keeps delivering. Before, one oversized result closed the session and the node
//! resent it forever (an SNMP walk of IF-MIB was enough).

use netpulse_protocol::limits::{self, *};
use netpulse_protocol::message::{CoordinatorMessage, EdgeMessage, ResultBatch, TimedResultBatch};
use netpulse_protocol::result::{CheckResult, CheckStatus, ErrorClass, ProbeError};
use netpulse_protocol::tls::{ALPN_EDGE, ALPN_EDGE_V1};
use serde_json::json;

use crate::support::wire_node::WireNode;
use crate::support::{tempdir, Coordinator};

/// How a generated result relates to the limits.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Small,
    AtEveryLimit,
    Metrics,
    MetricName,
    Facts,
    FactValue,
    FactName,
    Detail,
    Message,
    LongMonitorId,
    EmptyMonitorId,
    Bytes,
}

const SHAPES: [Shape; 12] = [
    Shape::Small,
    Shape::AtEveryLimit,
    Shape::Metrics,
    Shape::MetricName,
    Shape::Facts,
    Shape::FactValue,
    Shape::FactName,
    Shape::Detail,
    Shape::Message,
    Shape::LongMonitorId,
    Shape::EmptyMonitorId,
    Shape::Bytes,
];

impl Shape {
    fn fits(self) -> bool {
        matches!(self, Shape::Small | Shape::AtEveryLimit)
    }
}

/// splitmix64: a seeded, dependency-free generator, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn build(shape: Shape, seq: u64, monitor: &str, rng: &mut Rng) -> CheckResult {
    let metric = |i: usize, len: usize| {
        let s = format!(".{i}");
        (
            format!("{}{s}", "1".repeat(len.saturating_sub(s.len()).max(1))),
            i as f64,
        )
    };
    let mut r = CheckResult {
        seq,
        monitor_id: monitor.to_owned(),
        revision: 1,
        checked_at_ms: now_ms() - 50,
        status: CheckStatus::Up,
        duration_us: 1_000 + rng.below(1_000) as u64,
        error: None,
        metrics: (0..1 + rng.below(20)).map(|i| metric(i, 20)).collect(),
        detail: Some("ok".into()),
        facts: Vec::new(),
        impaired: false,
    };
    let over = 1 + rng.below(50);
    match shape {
        Shape::Small => {}
        Shape::AtEveryLimit => {
            r.metrics = (0..MAX_METRICS).map(|i| metric(i, 24)).collect();
            r.facts = (0..MAX_FACTS)
                .map(|i| {
                    (
                        format!("{i:0>width$}", width = MAX_FACT_NAME_LEN),
                        "v".repeat(MAX_FACT_VALUE_LEN),
                    )
                })
                .collect();
            r.detail = Some("d".repeat(MAX_DETAIL_LEN));
            r.status = CheckStatus::Down;
            r.error = Some(ProbeError {
                class: ErrorClass::Protocol,
                message: "m".repeat(MAX_MESSAGE_LEN),
            });
        }
        Shape::Metrics => r.metrics = (0..MAX_METRICS + over).map(|i| metric(i, 24)).collect(),
        Shape::MetricName => r.metrics.push(metric(9_999, MAX_METRIC_NAME_LEN + over)),
        Shape::Facts => {
            r.facts = (0..MAX_FACTS + over)
                .map(|i| (format!("f{i}"), "v".into()))
                .collect()
        }
        Shape::FactValue => r.facts = vec![("k".into(), "v".repeat(MAX_FACT_VALUE_LEN + over))],
        Shape::FactName => r.facts = vec![("k".repeat(MAX_FACT_NAME_LEN + over), "v".into())],
        Shape::Detail => r.detail = Some("d".repeat(MAX_DETAIL_LEN + over)),
        Shape::Message => {
            r.status = CheckStatus::Down;
            r.error = Some(ProbeError {
                class: ErrorClass::Timeout,
                message: "m".repeat(MAX_MESSAGE_LEN + over),
            });
        }
        Shape::LongMonitorId => r.monitor_id = "x".repeat(MAX_MONITOR_ID_LEN + over),
        Shape::EmptyMonitorId => r.monitor_id = String::new(),
        // Every count and length within its limit, the whole beyond MAX_RESULT_BYTES.
        Shape::Bytes => {
            r.metrics = (0..2_100 + over)
                .map(|i| metric(i, MAX_METRIC_NAME_LEN))
                .collect()
        }
    }
    assert_eq!(
        limits::check(&r).is_ok(),
        shape.fits(),
        "generator made {shape:?} wrong"
    );
    r
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// One monitor per probe kind in region `lim`; the hand-written node never probes them, but
/// its results name them.
fn monitors() -> Vec<serde_json::Value> {
    let base = |name: &str, kind: &str, target: &str| json!({"name": name, "kind": kind, "target": target, "regions": ["lim"], "interval_s": 60});
    let mut snmp = base("snmp", "snmp", "127.0.0.1");
    snmp["version"] = json!("v2c");
    snmp["community"] = json!("public");
    snmp["walk"] = json!(["1.3.6.1.2.1.2.2.1"]);
    let mut ssh = base("ssh", "ssh", "127.0.0.1:22");
    ssh["username"] = json!("probe");
    ssh["password"] = json!("not-a-real-password");
    vec![
        base("http", "http", "http://127.0.0.1:9/"),
        base("tcp", "tcp", "127.0.0.1:9"),
        base("icmp", "icmp", "127.0.0.1"),
        base("dns", "dns", "example.test"),
        base("tls", "tls", "127.0.0.1:443"),
        snmp,
        ssh,
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_beyond_every_limit_are_rejected_one_by_one_and_the_session_keeps_delivering() {
    let seed: u64 = std::env::var("NETPULSE_LIMITS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    println!("seed {seed} (replay with NETPULSE_LIMITS_SEED={seed})");
    let mut rng = Rng(seed);
    let dir = tempdir();
    let coord = Coordinator::start(dir.path(), None);
    let api = coord.api();
    let mut ids = Vec::new();
    for body in monitors() {
        ids.push(api.create_monitor(body).await);
    }
    let node = WireNode::enrol(coord.quic, &api.join_token().await, "lim").await;
    let mut session = node.session(coord.quic, ALPN_EDGE).await;

    // Every shape at least once, then random ones; batches kept under the frame limit.
    let mut shapes: Vec<Shape> = SHAPES.to_vec();
    shapes.extend((0..60).map(|_| SHAPES[rng.below(SHAPES.len())]));
    let (mut seq, mut stored, mut rejected) = (0u64, 0u64, 0u64);
    let mut stored_per_monitor = vec![0usize; ids.len()];
    let mut batch: Vec<CheckResult> = Vec::new();
    let mut batch_bytes = 0usize;
    for (i, shape) in shapes.iter().enumerate() {
        seq += 1;
        let m = rng.below(ids.len());
        let r = build(*shape, seq, &ids[m], &mut rng);
        if shape.fits() {
            stored += 1;
            stored_per_monitor[m] += 1;
        } else {
            rejected += 1;
        }
        batch_bytes += postcard::to_allocvec(&r).expect("encode").len();
        batch.push(r);
        let last = i + 1 == shapes.len();
        if batch_bytes > 2 * 1024 * 1024 || batch.len() >= 8 || last {
            let up_to = batch.last().map(|r| r.seq).expect("non-empty");
            let msg = EdgeMessage::TimedResults(TimedResultBatch {
                sent_at_ms: now_ms(),
                results: std::mem::take(&mut batch),
            });
            batch_bytes = 0;
            session.send(&msg).await;
            assert_eq!(
                session.ack(up_to).await,
                up_to,
                "every result up to {up_to} committed, stored or rejected"
            );
        }
    }

    // What the operators see: the refusals counted against the node, with the last reason.
    let nodes = api.nodes().await;
    let n = nodes
        .iter()
        .find(|n| n["id"] == node.node_id.as_str())
        .expect("node listed");
    assert_eq!(n["results_rejected"], rejected, "{n}");
    assert_eq!(n["results_stored"], stored, "{n}");
    let reason = n["last_rejection"]["reason"].as_str().expect("a reason");
    assert!(reason.contains("exceeds the limit of"), "{reason}");
    assert!(
        n["clock_offset_ms"].is_i64(),
        "a timed batch reports the clock: {n}"
    );
    for (id, want) in ids.iter().zip(&stored_per_monitor) {
        let got = api.results(id).await;
        assert_eq!(got.len(), *want, "stored results of {id}");
        for r in &got {
            assert!(
                r["truncated"].is_null(),
                "nothing here was cut by a node: {r}"
            );
        }
    }

    // The session tells a netpulse-edge/2 node who the coordinators are.
    assert!(
        session.received.iter().any(|m| matches!(m,
            CoordinatorMessage::Cluster(v) if v.members == [coord.quic.to_string()]
                && v.leader.as_deref() == Some(coord.quic.to_string().as_str()))),
        "{:?}",
        session.received
    );

    // A node from before timed batches (netpulse-edge/1) still delivers.
    drop(session);
    let mut old = node.session(coord.quic, ALPN_EDGE_V1).await;
    seq += 1;
    let r = build(Shape::Small, seq, &ids[1], &mut rng);
    old.send(&EdgeMessage::Results(ResultBatch { results: vec![r] }))
        .await;
    assert_eq!(old.ack(seq).await, seq);
    assert!(
        !old.received
            .iter()
            .any(|m| matches!(m, CoordinatorMessage::Cluster(_))),
        "an edge/1 node is never sent a message it cannot decode"
    );
    assert_eq!(api.results(&ids[1]).await.len(), stored_per_monitor[1] + 1);
}

/// The defect as a new user met it: an SNMP monitor walking IF-MIB's `ifTable` on a stock
/// net-snmp agent, from three regions. A 48-port switch's table (about 1,100 values, 950 of
/// them numeric) is measured and stored whole; a 230-port one yields what fits plus a visible
/// truncation marker; nothing is refused, and the other monitors on the same nodes keep
/// reporting throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iftable_walk_from_three_regions_is_stored_and_other_monitors_keep_flowing() {
    use crate::support::snmpd::Switch;
    use crate::support::target::Target;
    use crate::support::{eventually, Edge};
    use std::time::Duration;

    const REGIONS: [&str; 3] = ["eu-west", "us-east", "ap-south"];
    let dir = tempdir();
    let coord = Coordinator::start(&dir.path().join("c"), None);
    let api = coord.api();
    let token = api.join_token().await;
    let _edges = Edge::start_regions(dir.path(), &REGIONS, &[coord.quic], &token);
    let switch48 = Switch::start("t15a", 81, 48);
    let switch230 = Switch::start("t15b", 82, 230);
    let port = Target::tcp().await;

    let walk = |name: &str, addr: &str| {
        json!({"name": name, "kind": "snmp", "target": addr, "version": "v2c",
               "community": "public", "walk": ["1.3.6.1.2.1.2.2.1"], "interval_s": 5,
               "timeout_s": 4, "regions": REGIONS})
    };
    let sw48 = api.create_monitor(walk("switch-48", &switch48.addr)).await;
    let sw230 = api
        .create_monitor(walk("switch-230", &switch230.addr))
        .await;
    let tcp = api
        .create_monitor(
            json!({"name": "port", "kind": "tcp", "target": port.addr.to_string(),
                               "interval_s": 1, "timeout_s": 1, "regions": REGIONS}),
        )
        .await;

    // Every region stores a whole walk of the 48-port table.
    let whole = eventually(
        "a whole ifTable walk stored from every region",
        Duration::from_secs(60),
        || async {
            let results = api.results(&sw48).await;
            let regions: std::collections::BTreeSet<String> = results
                .iter()
                .filter(|r| r["status"] == "up")
                .filter_map(|r| r["region"].as_str().map(str::to_owned))
                .collect();
            (regions.len() == REGIONS.len()).then_some(results)
        },
    )
    .await;
    for r in whole.iter().filter(|r| r["status"] == "up") {
        let metrics = r["metrics"].as_object().expect("metrics").len();
        // 50 rows (48 ports, lo, the veth) x 19 numeric columns, plus response time.
        assert!(
            metrics > 48 * 19,
            "{metrics} values stored: {}",
            r["detail"]
        );
        assert!(r["truncated"].is_null(), "{}", r["truncated"]);
        assert!(
            r["metrics"]["1.3.6.1.2.1.2.2.1.10.1"].is_number(),
            "ifInOctets.1 present"
        );
    }

    // The 230-port table is more than a result carries: what fits, marked.
    let cut = eventually(
        "a truncated walk stored",
        Duration::from_secs(60),
        || async {
            api.results(&sw230)
                .await
                .into_iter()
                .find(|r| r["status"] == "up")
        },
    )
    .await;
    assert_eq!(
        cut["metrics"].as_object().expect("metrics").len(),
        netpulse_protocol::limits::MAX_METRICS
    );
    let note = cut["truncated"].as_str().expect("marked truncated");
    assert!(note.contains("walk 1.3.6.1.2.1.2.2.1 stopped"), "{note}");

    // Nothing was refused, and the TCP monitor on the same nodes keeps reporting.
    for n in api.nodes().await {
        assert_eq!(n["results_rejected"], 0, "{n}");
        assert!(n["connected"].as_bool().expect("connected"), "{n}");
    }
    let before = api.results(&tcp).await.len();
    eventually(
        "more TCP results after the walks",
        Duration::from_secs(30),
        || async { (api.results(&tcp).await.len() >= before + 6).then_some(()) },
    )
    .await;
    assert_eq!(api.monitor(&sw48).await["status"], "up");
}
