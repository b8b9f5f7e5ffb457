//! History over synthetic weeks: rollups and the timeline equal a brute-force recomputation
//! from the raw results and decisions, pruning leaves exactly each window, a replica replaying
//! the log holds the same tables, and a large expiry is spread over ticks.

use std::collections::BTreeMap;

use netpulse_protocol::result::CheckStatus::{self, Degraded, Down, Up};

use super::command::{AgedResult, Command, IngestBatch, IngestItem, NodeIngest};
use super::retention::{Retention, REMOVALS_PER_TICK};
use super::tests_alerting::{result, World, REGIONS};
use super::State;
use crate::decide::quorum::Health;
use crate::history::{Resolution, Rollup, TimelineState};
use crate::tables::{MemTables, Table, Tables};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// 2023-11-14 22:13:20 UTC: not aligned to any bucket.
const T0: i64 = 1_700_000_000_000;

const KEEP: Retention = Retention {
    results_ms: DAY as u64,
    hourly_ms: 3 * DAY as u64,
    daily_ms: 10 * DAY as u64,
};

/// A world that remembers every command (to replay) and every result (to recompute).
struct Run {
    w: World,
    log: Vec<Command>,
    raw: Vec<(String, i64, CheckStatus, u64)>,
    /// (leader time, health) at every change, as read back after each command.
    changes: Vec<(i64, TimelineState)>,
}

impl Run {
    fn new() -> Self {
        let w = World::new();
        // World::new applied its own commands: replay them too.
        let log = Vec::new();
        let mut r = Run {
            w,
            log,
            raw: Vec::new(),
            changes: vec![(0, TimelineState::Unknown)],
        };
        r.apply(Command::SetRetention(KEEP));
        r
    }

    fn apply(&mut self, cmd: Command) {
        self.log.push(cmd.clone());
        self.w.apply(cmd);
    }

    /// One round: every region reports at `at` (received 100 ms later), then a tick.
    fn round(&mut self, at: i64, statuses: [CheckStatus; 3]) {
        let mut per_node = Vec::new();
        for (n, (region, status)) in REGIONS.iter().zip(statuses).enumerate() {
            self.w.seq += 1;
            let mut r = result(self.w.seq, at, status, false);
            // Durations vary so percentiles mean something.
            r.duration_us = 1_000 + (self.w.seq * 7_919 % 50_000) + n as u64;
            self.raw
                .push((region.to_string(), at, status, r.duration_us));
            per_node.push(NodeIngest {
                node: format!("n-{region}"),
                sent_at_ms: Some(at + 100),
                items: vec![IngestItem::Result(AgedResult {
                    age_ms: 100,
                    result: r,
                })],
            });
        }
        self.apply(Command::Ingest(IngestBatch {
            received_at_ms: at + 100,
            per_node,
        }));
        self.note_change(at + 100);
        self.apply(Command::Tick { at_ms: at + 200 });
        self.note_change(at + 200);
    }

    fn note_change(&mut self, at: i64) {
        let h = self.w.health();
        let state = TimelineState::of(h, false, false);
        if self.changes.last().map(|c| c.1) != Some(state) {
            self.changes.push((at, state));
        }
    }
}

/// Statuses of round `i`: mostly up, a regional blip now and then, a real outage (every
/// region down) for a few rounds twice a day, degraded for a while every third day.
fn statuses(i: i64) -> [CheckStatus; 3] {
    let in_day = i % 144;
    if (40..44).contains(&in_day) || (100..103).contains(&in_day) {
        [Down, Down, Down]
    } else if in_day % 17 == 0 {
        [Up, Down, Up]
    } else if (i / 144) % 3 == 2 && (60..70).contains(&in_day) {
        [Degraded, Up, Up]
    } else {
        [Up, Up, Up]
    }
}

fn all_rows<T: Tables>(t: &T, table: Table) -> Vec<(Vec<u8>, Vec<u8>)> {
    t.range(
        table,
        std::ops::Bound::Unbounded,
        std::ops::Bound::Unbounded,
        false,
    )
    .collect::<Result<_, _>>()
    .expect("scan")
}

/// (bucket start, region) → (checks, failed, degraded, min µs, max µs).
type Buckets = BTreeMap<(i64, String), (u64, u64, u64, u64, u64)>;

/// Brute force: buckets at `res` from every raw result, kept when the bucket ends inside the
/// window.
fn recompute(raw: &[(String, i64, CheckStatus, u64)], res: Resolution, keep_from: i64) -> Buckets {
    let mut out: Buckets = BTreeMap::new();
    for (region, at, status, dur) in raw {
        let start = res.bucket_start(*at);
        if start + res.width_ms() <= keep_from {
            continue;
        }
        let e = out
            .entry((start, region.clone()))
            .or_insert((0, 0, 0, u64::MAX, 0));
        e.0 += 1;
        e.1 += u64::from(*status == Down);
        e.2 += u64::from(*status == Degraded);
        e.3 = e.3.min(*dur);
        e.4 = e.4.max(*dur);
    }
    out
}

fn stored(s: &State<MemTables>, res: Resolution) -> Buckets {
    s.rollups("mon_a", res, i64::MIN, i64::MAX)
        .expect("rollups")
        .into_iter()
        .map(|(start, region, r): (i64, String, Rollup)| {
            assert_eq!(r.latency.count, r.checks);
            assert_eq!(r.by_class.get("timeout").copied().unwrap_or(0), r.failed);
            (
                (start, region),
                (
                    r.checks,
                    r.failed,
                    r.degraded,
                    r.latency.min_us,
                    r.latency.max_us,
                ),
            )
        })
        .collect()
}

#[test]
fn three_weeks_of_history_match_a_recomputation_and_prune_to_their_windows() {
    let mut run = Run::new();
    let rounds = 21 * 144; // every 10 minutes for 21 days
    for i in 0..rounds {
        run.round(T0 + i * 10 * MIN, statuses(i));
    }
    let now = T0 + (rounds - 1) * 10 * MIN + 200;
    let s = &run.w.s;

    // Raw results: exactly the window.
    let keep_raw = now - DAY;
    let want: Vec<i64> = run
        .raw
        .iter()
        .filter(|r| r.1 >= keep_raw)
        .map(|r| r.1)
        .collect();
    let mut got: Vec<i64> = s
        .results("mon_a", None, usize::MAX)
        .expect("results")
        .into_iter()
        .map(|r| r.checked_at_ms)
        .collect();
    got.reverse();
    assert_eq!(got, want);

    // Rollups: equal to brute force over every result ever ingested, inside each window.
    assert_eq!(
        stored(s, Resolution::Hour),
        recompute(&run.raw, Resolution::Hour, now - 3 * DAY)
    );
    assert_eq!(
        stored(s, Resolution::Day),
        recompute(&run.raw, Resolution::Day, now - 10 * DAY)
    );

    // Timeline: the decisions as read after every command, from the daily window on.
    let from = now - 10 * DAY;
    let mut want: Vec<(i64, TimelineState)> = Vec::new();
    for c in &run.changes {
        if c.0 <= from {
            want.clear();
        }
        want.push(*c);
    }
    assert_eq!(s.timeline("mon_a", from, now + 1).expect("timeline"), want);
    assert!(want.iter().any(|c| c.1 == TimelineState::Down));
    assert!(want.iter().any(|c| c.1 == TimelineState::Degraded));

    // Uptime from the timeline: outages only when every region was down (7 rounds a day),
    // never from a single region's blip.
    let day_start = Resolution::Day.bucket_start(now) - 2 * DAY;
    let rep = s
        .uptime_report("mon_a", day_start, day_start + DAY, Resolution::Day, now)
        .expect("report");
    assert_eq!(rep.buckets.len(), 1);
    let b = &rep.buckets[0];
    assert_eq!(b.states.get(TimelineState::Unknown), 0);
    assert_eq!(b.states.up + b.states.degraded + b.states.down, DAY);
    // A region votes down after two failed checks in a row, so each outage is decided one
    // round after it began: (4 - 1) + (3 - 1) rounds of 10 minutes a day.
    assert_eq!(b.states.down, 5 * 10 * MIN, "{:?}", b.states);
    let pct = b.uptime.uptime_pct.expect("counted");
    assert!((pct - 100.0 * (DAY - 50 * MIN) as f64 / DAY as f64).abs() < 1e-9);
    assert_eq!(b.all.checks, 144 * 3);
    assert_eq!(b.regions.len(), 3);

    // A replica replaying the same log holds the same history tables.
    let replica = World::new();
    let mut index = replica.index;
    for cmd in &run.log {
        index += 1;
        replica.s.apply(cmd, index).expect("replay");
    }
    for table in [Table::Results, Table::Rollups, Table::Timeline, Table::Meta] {
        assert_eq!(
            all_rows(&replica.s.tables, table),
            all_rows(&run.w.s.tables, table),
            "{table:?}"
        );
    }
}

#[test]
fn a_large_expiry_is_spread_over_ticks() {
    let mut w = World::new();
    let n = REMOVALS_PER_TICK as i64 + 5_000;
    let mut per_node = Vec::new();
    for i in 0..n {
        w.seq += 1;
        per_node.push(IngestItem::Result(AgedResult {
            age_ms: 0,
            result: result(w.seq, T0 + i, Up, false),
        }));
    }
    let resp = w.apply(Command::Ingest(IngestBatch {
        received_at_ms: T0 + n,
        per_node: vec![NodeIngest {
            node: "n-eu-west".into(),
            sent_at_ms: None,
            items: per_node,
        }],
    }));
    assert!(
        matches!(resp, super::command::CommandResponse::Ingested { stored, .. } if stored == n as u64)
    );
    assert_eq!(
        w.s.results("mon_a", None, usize::MAX).expect("read").len(),
        n as usize
    );
    // No retention yet: nothing is pruned.
    w.apply(Command::Tick {
        at_ms: T0 + 2 * DAY,
    });
    assert_eq!(
        w.s.results("mon_a", None, usize::MAX).expect("read").len(),
        n as usize
    );
    w.apply(Command::SetRetention(KEEP));
    w.apply(Command::Tick {
        at_ms: T0 + 2 * DAY,
    });
    assert_eq!(
        w.s.results("mon_a", None, usize::MAX).expect("read").len(),
        5_000,
        "one tick removes at most its budget"
    );
    w.apply(Command::Tick {
        at_ms: T0 + 2 * DAY + 1_000,
    });
    assert!(w.s.results("mon_a", None, 1).expect("read").is_empty());
    // Rollups outlive the raw results: the daily buckets still count them.
    let days =
        w.s.rollups("mon_a", Resolution::Day, i64::MIN, i64::MAX)
            .expect("rollups");
    assert_eq!(days.iter().map(|d| d.2.checks).sum::<u64>(), n as u64);
    assert_eq!(w.health(), Health::Unknown, "two regions never reported");
}

#[test]
fn maintenance_and_pause_enter_the_timeline() {
    use super::alerting::{Maintenance, MaintenanceSchedule};
    let mut w = World::new();
    w.apply(Command::PutMaintenance(Box::new(Maintenance {
        id: "mnt_0000000000000001".into(),
        title: "db upgrade".into(),
        monitors: vec!["mon_a".into()],
        tags: vec![],
        schedule: MaintenanceSchedule::Once {
            starts_at_ms: T0 + HOUR,
            ends_at_ms: T0 + 2 * HOUR,
        },
        created_at_ms: T0,
    })));
    w.apply(Command::Tick { at_ms: T0 });
    w.apply(Command::Tick { at_ms: T0 + HOUR });
    w.apply(Command::Tick {
        at_ms: T0 + 2 * HOUR,
    });
    let mut m = super::tests_alerting::monitor();
    m.paused = true;
    m.updated_at_ms = T0 + 3 * HOUR;
    w.apply(Command::PutMonitor {
        monitor: Box::new(m),
        expect_existing: true,
    });
    let t = w.s.timeline("mon_a", 0, T0 + 4 * HOUR).expect("timeline");
    assert_eq!(
        t,
        vec![
            (0, TimelineState::Unknown),
            (T0 + HOUR, TimelineState::Maintenance),
            (T0 + 2 * HOUR, TimelineState::Unknown),
            (T0 + 3 * HOUR, TimelineState::Paused),
        ]
    );
    w.apply(Command::DeleteMonitor { id: "mon_a".into() });
    assert!(w
        .s
        .timeline("mon_a", 0, i64::MAX)
        .expect("timeline")
        .is_empty());
}
