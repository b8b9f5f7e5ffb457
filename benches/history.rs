//! History: what retention bounds and what it costs.
//!
//! 1. **Steady state at 1,000 results/s.** 1,000 TCP monitors × 3 regions over sled
//!    (`StateStore`, the engine the coordinators run), one `Ingest` batch and one `Tick` per
//!    simulated second, each batch 1,000 results (every monitor measured from one of its
//!    regions, in turn). Raw window `RAW_WINDOW_S` (scaled down from the issue's one day so the
//!    run takes a minute; bytes per result do not depend on the window). Prints bytes per raw
//!    result and per rollup bucket, state and snapshot size at the end, and how they would
//!    grow without retention (the reference: the same run with pruning off).
//! 2. **Prune cost per tick** at the steady state: apply time of a tick that prunes, next to a
//!    tick on the same state with no retention set (the reference).
//! 3. **Uptime query, 90 days × 1,000 monitors**: 90 days of history (one result per monitor
//!    per 6 hours from two regions, an outage every 10 days; with a 30 s interval the regions
//!    go stale between results, so the timeline changes state often), then the uptime answer of every monitor at `1d`
//!    and at `1h` steps, next to reading the same range's raw results (the reference: what
//!    computing it from raw checks would read, with only 4 results a day here; a real 30 s
//!    interval has 720 times as many).
//!
//! Run with `cargo bench --bench history` (about 20 minutes on two cores);
//! `NETPULSE_BENCH_SECONDS=700 NETPULSE_BENCH_SKIP_UPTIME=1` runs a short steady state and the
//! tick costs only.

use std::time::Instant;

use netpulse_coordinator::store::StateStore;
use netpulse_engine::command::{AgedResult, Command, IngestBatch, IngestItem, NodeIngest};
use netpulse_engine::fixtures::{test_monitor, test_node, test_result};
use netpulse_engine::history::Resolution;
use netpulse_engine::state::retention::Retention;
use netpulse_protocol::result::CheckStatus;

const REGIONS: [&str; 3] = ["eu-west", "us-east", "ap-south"];
const MONITORS: usize = 1_000;
const RAW_WINDOW_S: i64 = 600;
/// Simulated seconds of the steady state; `NETPULSE_BENCH_SECONDS` shortens it (at least
/// the raw window, so pruning has something to do).
fn simulated_s() -> i64 {
    std::env::var("NETPULSE_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .map_or(1_800, |s| s.max(RAW_WINDOW_S + 60))
}
const T0: i64 = 1_790_000_000_000;
const DAY: i64 = 86_400_000;

struct Sim {
    _dir: tempfile::TempDir,
    db: sled::Db,
    store: StateStore,
    index: u64,
    seq: [u64; 3],
}

impl Sim {
    fn new() -> Sim {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = sled::open(dir.path()).expect("sled");
        let store = StateStore::open(&db).expect("store");
        let mut s = Sim {
            _dir: dir,
            db,
            store,
            index: 0,
            seq: [0; 3],
        };
        for r in REGIONS {
            s.apply(Command::RegisterNode(test_node(r)));
        }
        for i in 0..MONITORS {
            let mut m = test_monitor(&format!("mon_{i:016x}"), &REGIONS);
            m.created_at_ms = T0;
            m.updated_at_ms = T0;
            s.apply(Command::PutMonitor {
                monitor: Box::new(m),
                expect_existing: false,
            });
        }
        s
    }

    fn apply(&mut self, cmd: Command) -> f64 {
        self.index += 1;
        let t = Instant::now();
        self.store.apply(&cmd, self.index).expect("apply");
        t.elapsed().as_secs_f64()
    }

    /// One batch measured at `at`: a result for every monitor, with the status `status` gives
    /// it, from the region `region_of` gives it.
    fn batch(
        &mut self,
        at: i64,
        status: impl Fn(usize) -> CheckStatus,
        region_of: impl Fn(usize) -> usize,
    ) -> f64 {
        let mut per_region: [Vec<IngestItem>; 3] = Default::default();
        for i in 0..MONITORS {
            let r = region_of(i);
            self.seq[r] += 1;
            let mut res = test_result(self.seq[r], &format!("mon_{i:016x}"), at, status(i));
            res.duration_us = 800 + (self.seq[r] * 7_919 % 40_000);
            per_region[r].push(IngestItem::Result(AgedResult {
                age_ms: 100,
                result: res,
            }));
        }
        let per_node = REGIONS
            .iter()
            .zip(per_region)
            .map(|(r, items)| NodeIngest {
                node: test_node(r).id,
                sent_at_ms: Some(at + 100),
                items,
            })
            .collect();
        self.apply(Command::Ingest(IngestBatch {
            received_at_ms: at + 100,
            per_node,
        }))
    }

    fn table_bytes(&self) -> (u64, u64) {
        let (mut raw, mut rollups) = (0u64, 0u64);
        let (mut nraw, mut nroll) = (0u64, 0u64);
        for kv in self.db.open_tree("sm_state").expect("tree").iter() {
            let (k, v) = kv.expect("row");
            match k.first() {
                Some(5) => {
                    raw += (k.len() + v.len()) as u64;
                    nraw += 1;
                }
                Some(23) => {
                    rollups += (k.len() + v.len()) as u64;
                    nroll += 1;
                }
                _ => {}
            }
        }
        println!(
            "  raw results: {nraw} rows, {:.0} bytes each (key + value); rollup buckets: {nroll}, {:.0} bytes each",
            raw as f64 / nraw.max(1) as f64,
            rollups as f64 / nroll.max(1) as f64
        );
        (nraw, nroll)
    }
}

fn steady_state(retention: bool) -> Sim {
    let mut s = Sim::new();
    if retention {
        s.apply(Command::SetRetention(Retention {
            results_ms: RAW_WINDOW_S as u64 * 1000,
            ..Retention::DEFAULT
        }));
    }
    let started = Instant::now();
    for t in 0..simulated_s() {
        let at = T0 + t * 1000;
        s.batch(at, |_| CheckStatus::Up, |i| (i + t as usize) % 3);
        s.apply(Command::Tick { at_ms: at + 500 });
    }
    println!(
        "  {} results in {:.1} s ({:.0} results/s applied, ingest and ticks)",
        simulated_s() * MONITORS as i64,
        started.elapsed().as_secs_f64(),
        (simulated_s() * MONITORS as i64) as f64 / started.elapsed().as_secs_f64()
    );
    s
}

fn sizes(s: &Sim) -> (usize, u64) {
    s.db.flush().expect("flush");
    let snapshot = s.store.export().expect("export").len();
    let disk = s.db.size_on_disk().expect("size");
    (snapshot, disk)
}

fn tick_cost(s: &mut Sim, at: i64) -> f64 {
    let mut worst = 0.0f64;
    let mut total = 0.0;
    for k in 0..20 {
        // A batch first, so the tick has a second's worth of expired results to remove.
        s.batch(at + k * 1000, |_| CheckStatus::Up, |i| (i + k as usize) % 3);
        let t = s.apply(Command::Tick {
            at_ms: at + k * 1000 + 500,
        });
        worst = worst.max(t);
        total += t;
    }
    println!(
        "    mean {:.2} ms, worst {:.2} ms",
        total * 50.0,
        worst * 1000.0
    );
    total / 20.0
}

fn main() {
    println!(
        "## 1. Steady state: 1,000 monitors × 3 regions, 1,000 results/s, {} s simulated, raw window {RAW_WINDOW_S} s",
        simulated_s()
    );
    println!("with retention:");
    let mut with = steady_state(true);
    let (_nraw, _) = with.table_bytes();
    let (snap_with, disk_with) = sizes(&with);
    println!("without retention (reference):");
    let mut without = steady_state(false);
    without.table_bytes();
    let (snap_without, disk_without) = sizes(&without);
    println!(
        "| | snapshot bytes | sled size on disk |\n|---|---|---|\n| retention {RAW_WINDOW_S} s | {snap_with} | {disk_with} |\n| no retention | {snap_without} | {disk_without} |\n| ratio | {:.2} | {:.2} |",
        snap_with as f64 / snap_without as f64,
        disk_with as f64 / disk_without as f64
    );

    println!("\n## 2. Tick apply time at the steady state (20 ticks, each after a batch)");
    println!("  pruning ticks:");
    let at = T0 + simulated_s() * 1000;
    let pruning = tick_cost(&mut with, at);
    println!("  ticks with no retention set (reference):");
    let plain = tick_cost(&mut without, at);
    println!("  ratio {:.2}", pruning / plain);

    if std::env::var("NETPULSE_BENCH_SKIP_UPTIME").is_ok() {
        return;
    }
    println!("\n## 3. Uptime over 90 days × 1,000 monitors");
    let mut s = Sim::new();
    let build = Instant::now();
    for q in 0..(90 * 4) {
        let at = T0 + q * DAY / 4;
        // Down for one quarter-day every 10 days, everywhere: a decided state change.
        let down = q % 40 == 1;
        for round in 0..2 {
            s.batch(
                at + round * 1000,
                |_| {
                    if down {
                        CheckStatus::Down
                    } else {
                        CheckStatus::Up
                    }
                },
                |i| (i + round as usize) % 3,
            );
        }
        s.apply(Command::Tick { at_ms: at + 5_000 });
    }
    println!("  built in {:.1} s", build.elapsed().as_secs_f64());
    let now = T0 + 90 * DAY;
    for step in [Resolution::Day, Resolution::Hour] {
        let t = Instant::now();
        let mut buckets = 0;
        for i in 0..MONITORS {
            let r = s
                .store
                .uptime_report(&format!("mon_{i:016x}"), T0, now, step, now)
                .expect("report");
            buckets += r.buckets.len();
            std::hint::black_box(&r);
        }
        let el = t.elapsed().as_secs_f64();
        println!(
            "  step {}: {:.2} ms per monitor ({buckets} buckets), {:.2} s for all 1,000",
            step.step(),
            el * 1000.0 / MONITORS as f64,
            el
        );
    }
    let t = Instant::now();
    let mut rows = 0;
    for i in 0..MONITORS {
        rows += s
            .store
            .results(&format!("mon_{i:016x}"), Some(T0), usize::MAX)
            .expect("results")
            .len();
    }
    let el = t.elapsed().as_secs_f64();
    println!(
        "  reference, reading the range's raw results: {:.2} ms per monitor ({rows} results, {} a monitor)",
        el * 1000.0 / MONITORS as f64,
        rows / MONITORS
    );
}
