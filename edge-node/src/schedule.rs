//! Sans-I/O check scheduler: decides which check runs when, and nothing else.
//!
//! The scheduler never reads the clock and never sleeps. The caller passes `now` into every
//! call, runs whatever [`Scheduler::poll_due`] returns, and sleeps until
//! [`Scheduler::next_deadline`] (or until the assignment changes). That keeps it testable with
//! synthetic instants and usable under tokio's paused time.
//!
//! Timing rules:
//! - A new check first runs after a jitter in `[0, min(interval, 10 s))`, derived from the
//!   scheduler seed and the monitor id. Checks assigned together therefore spread out instead
//!   of firing in one burst, and a node restarted with the same seed keeps its phases.
//! - A check runs every `interval` measured from its previous *due* time, not from when it
//!   actually ran, so lateness never accumulates into drift.
//! - A check that fell behind by more than one interval (node paused, event loop overloaded)
//!   runs once and skips the missed slots, staying on its original phase: no catch-up bursts.
//! - Replacing a check with a new revision at the same interval keeps its phase; a changed
//!   interval is treated like a new check.
//!
//! Implementation: a min-heap of `(due, generation, id)` slots with lazy invalidation. Every
//! (re)placement of a check gets a fresh generation; heap slots whose generation no longer
//! matches the check's are stale and are dropped when they surface. The heap top is kept valid
//! after every call, so [`Scheduler::next_deadline`] is a peek.
//!
//! Specs are held behind an `Arc` and handed out as [`Due`] (the spec and the instant it was
//! due), so a run costs a reference count instead of a deep copy of its spec, and the runner
//! can tell how late it started each check (`crate::lateness`).

use std::cmp::Reverse;
use std::collections::hash_map::Entry as MapEntry;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use netpulse_protocol::check::CheckSpec;
use tokio::time::Instant;

/// Upper bound of the first-run jitter, so that even hourly checks start within seconds of
/// being assigned.
pub const MAX_INITIAL_JITTER: Duration = Duration::from_secs(10);

/// Shortest interval the scheduler honours; shorter (or zero) intervals are raised to it, so a
/// bad spec cannot make the node spin.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// Longest interval the scheduler honours; longer ones are lowered to it, which keeps all
/// instant arithmetic far from overflow.
pub const MAX_INTERVAL: Duration = Duration::from_secs(7 * 24 * 3600);

/// A check whose time has come, as [`Scheduler::poll_due`] hands it out.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    /// What to run.
    pub check: Arc<CheckSpec>,
    /// When it was due. A runner that polls a little ahead starts it up to that much early;
    /// one that is busy starts it late. `start - due` is the check's scheduling lateness.
    pub due: Instant,
}

/// One scheduled check.
#[derive(Debug)]
struct Scheduled {
    spec: Arc<CheckSpec>,
    interval: Duration,
    due: Instant,
    generation: u64,
}

/// One heap slot; valid only while `generation` matches the check's.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Slot {
    due: Instant,
    generation: u64,
    id: Arc<str>,
}

/// Decides when each assigned check is due. See the module docs for the timing rules.
#[derive(Debug)]
pub struct Scheduler {
    seed: u64,
    checks: HashMap<Arc<str>, Scheduled>,
    queue: BinaryHeap<Reverse<Slot>>,
    next_generation: u64,
}

impl Scheduler {
    /// An empty scheduler. `seed` decides the first-run jitter; give each node its own (e.g.
    /// derived from its node id) so nodes probing the same target do not fire in lockstep.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            checks: HashMap::new(),
            queue: BinaryHeap::new(),
            next_generation: 0,
        }
    }

    /// Replaces the whole set (a full assignment). Checks absent from `checks` are dropped;
    /// checks whose id and interval are unchanged keep their phase; others start after jitter.
    /// If an id appears twice, the later spec wins.
    pub fn set_checks<C: Into<Arc<CheckSpec>>>(&mut self, checks: Vec<C>, now: Instant) {
        let checks: Vec<Arc<CheckSpec>> = checks.into_iter().map(Into::into).collect();
        let keep: std::collections::HashSet<&str> =
            checks.iter().map(|c| c.monitor_id.as_str()).collect();
        self.checks.retain(|id, _| keep.contains(&**id));
        drop(keep);
        for check in checks {
            self.place(check, now);
        }
        self.maintain();
    }

    /// Adds a check or replaces the one with the same monitor id (an assignment delta).
    pub fn upsert(&mut self, check: impl Into<Arc<CheckSpec>>, now: Instant) {
        self.place(check.into(), now);
        self.maintain();
    }

    /// Stops scheduling a check; returns its last spec if it was scheduled.
    pub fn remove(&mut self, monitor_id: &str) -> Option<Arc<CheckSpec>> {
        let removed = self.checks.remove(monitor_id).map(|s| s.spec);
        self.maintain();
        removed
    }

    /// Returns the checks due at `now`, earliest first, each with the instant it was due, and
    /// schedules each one's next run at its previous due time plus its interval (the first such
    /// time after `now` if it fell behind). Each check is returned at most once per call.
    pub fn poll_due(&mut self, now: Instant) -> Vec<Due> {
        let mut due = Vec::new();
        while let Some(Reverse(top)) = self.queue.peek() {
            if top.due > now {
                break;
            }
            let Some(Reverse(slot)) = self.queue.pop() else {
                break;
            };
            let Some(check) = self.checks.get_mut(&slot.id) else {
                continue;
            };
            if check.generation != slot.generation {
                continue;
            }
            due.push(Due {
                check: check.spec.clone(),
                due: slot.due,
            });
            let next = next_due(slot.due, check.interval, now);
            check.due = next;
            self.queue.push(Reverse(Slot {
                due: next,
                generation: slot.generation,
                id: slot.id,
            }));
        }
        self.maintain();
        due
    }

    /// When the earliest check is due; `None` when nothing is scheduled. The driver sleeps
    /// until then (or until the assignment changes).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse(slot)| slot.due)
    }

    /// When a given check is next due.
    pub fn due_at(&self, monitor_id: &str) -> Option<Instant> {
        self.checks.get(monitor_id).map(|s| s.due)
    }

    /// Every scheduled check, in no particular order (to save the set).
    pub fn checks(&self) -> impl Iterator<Item = &Arc<CheckSpec>> {
        self.checks.values().map(|s| &s.spec)
    }

    /// Number of scheduled checks.
    pub fn len(&self) -> usize {
        self.checks.len()
    }

    /// Whether nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    /// Inserts or replaces one check without restoring the heap invariants.
    fn place(&mut self, check: Arc<CheckSpec>, now: Instant) {
        let interval = effective_interval(check.interval_ms);
        match self.checks.entry(Arc::from(check.monitor_id.as_str())) {
            MapEntry::Occupied(mut slot) if slot.get().interval == interval => {
                // Same cadence: keep the phase, run the new revision at the existing due time.
                slot.get_mut().spec = check;
            }
            entry => {
                let id = entry.key().clone();
                let due = now
                    .checked_add(initial_jitter(self.seed, &id, interval))
                    .unwrap_or(now);
                let generation = self.next_generation;
                self.next_generation += 1;
                let scheduled = Scheduled {
                    spec: check,
                    interval,
                    due,
                    generation,
                };
                match entry {
                    MapEntry::Occupied(mut o) => {
                        o.insert(scheduled);
                    }
                    MapEntry::Vacant(v) => {
                        v.insert(scheduled);
                    }
                }
                self.queue.push(Reverse(Slot {
                    due,
                    generation,
                    id,
                }));
            }
        }
    }

    /// Drops stale slots from the top (so `next_deadline` is exact) and rebuilds the heap
    /// when stale slots outnumber live ones (so churn cannot grow it without bound).
    fn maintain(&mut self) {
        if self.queue.len() > 2 * self.checks.len() + 64 {
            self.queue = self
                .checks
                .iter()
                .map(|(id, s)| {
                    Reverse(Slot {
                        due: s.due,
                        generation: s.generation,
                        id: id.clone(),
                    })
                })
                .collect();
        }
        while let Some(Reverse(top)) = self.queue.peek() {
            let live = self
                .checks
                .get(&top.id)
                .is_some_and(|s| s.generation == top.generation);
            if live {
                break;
            }
            self.queue.pop();
        }
    }
}

fn effective_interval(interval_ms: u64) -> Duration {
    Duration::from_millis(interval_ms).clamp(MIN_INTERVAL, MAX_INTERVAL)
}

/// The first due time after `now` on the grid `prev + k * interval` (k >= 1).
fn next_due(prev: Instant, interval: Duration, now: Instant) -> Instant {
    let fallback = || now.checked_add(interval).unwrap_or(now);
    let Some(next) = prev.checked_add(interval) else {
        return fallback();
    };
    if next > now {
        return next;
    }
    // Fell behind: skip every missed slot, keep the phase.
    let behind = now.saturating_duration_since(prev).as_nanos();
    let step = interval.as_nanos().max(1);
    let slots = behind / step + 1;
    let offset = u64::try_from(slots.saturating_mul(step)).unwrap_or(u64::MAX);
    prev.checked_add(Duration::from_nanos(offset))
        .unwrap_or_else(fallback)
}

/// Deterministic jitter in `[0, min(interval, MAX_INITIAL_JITTER))`.
fn initial_jitter(seed: u64, monitor_id: &str, interval: Duration) -> Duration {
    let bound = interval.min(MAX_INITIAL_JITTER).as_nanos();
    let bound = u64::try_from(bound).unwrap_or(u64::MAX);
    if bound == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(mix(seed, monitor_id) % bound)
}

/// FNV-1a over the seed and id, finished with SplitMix64 for good high and low bits. Stable
/// across builds and platforms, unlike `std`'s hasher.
fn mix(seed: u64, monitor_id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.to_le_bytes().iter().chain(monitor_id.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use netpulse_protocol::check::{ProbeSpec, TcpSpec};

    use super::*;

    fn check(id: &str, revision: u64, interval_s: u64) -> CheckSpec {
        check_ms(id, revision, interval_s * 1000)
    }

    fn check_ms(id: &str, revision: u64, interval_ms: u64) -> CheckSpec {
        CheckSpec {
            monitor_id: id.into(),
            revision,
            interval_ms,
            timeout_ms: 5_000,
            probe: ProbeSpec::Tcp(TcpSpec {
                host: "127.0.0.1".into(),
                port: 80,
                ..Default::default()
            }),
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn ids(due: &[Due]) -> Vec<&str> {
        due.iter().map(|d| d.check.monitor_id.as_str()).collect()
    }

    #[test]
    fn new_check_waits_for_its_jitter_then_runs() {
        let t0 = Instant::now();
        let mut s = Scheduler::new(7);
        assert!(s.is_empty());
        assert_eq!(s.next_deadline(), None);
        s.upsert(check("a", 1, 30), t0);
        assert_eq!(s.len(), 1);
        let due = s.next_deadline().expect("scheduled");
        assert_eq!(s.due_at("a"), Some(due));
        assert!(due >= t0 && due < t0 + secs(10), "{:?}", due - t0);
        if due > t0 {
            assert!(s.poll_due(due - Duration::from_nanos(1)).is_empty());
        }
        let got = s.poll_due(due);
        assert_eq!(ids(&got), ["a"]);
        assert_eq!(got[0].due, due, "handed out with the instant it was due");
        assert_eq!(s.next_deadline(), Some(due + secs(30)));
        assert!(s.poll_due(due).is_empty(), "returned twice for one slot");
    }

    #[test]
    fn no_drift_over_1000_ticks() {
        let t0 = Instant::now();
        let mut s = Scheduler::new(1);
        let intervals = [("fast", 7u64), ("mid", 30), ("slow", 61)];
        for (id, i) in intervals {
            s.upsert(check(id, 1, i), t0);
        }
        let first: HashMap<String, Instant> = intervals
            .iter()
            .map(|(id, _)| (id.to_string(), s.due_at(id).expect("due")))
            .collect();
        let mut runs: HashMap<String, u32> = HashMap::new();
        for tick in 0..1000u32 {
            let deadline = s.next_deadline().expect("scheduled");
            // Late by a varying amount, always less than the shortest interval.
            let lateness = Duration::from_millis(u64::from(tick * 7919 % 3000));
            let now = deadline + lateness;
            for d in s.poll_due(now) {
                // Due between the earliest deadline and now: late by at most `lateness`.
                assert!(d.due >= deadline && now - d.due <= lateness, "{d:?}");
                let c = d.check;
                let n = runs.entry(c.monitor_id.clone()).or_default();
                *n += 1;
                let interval = secs(c.interval_ms / 1000);
                let expected_next = first[&c.monitor_id] + interval * *n;
                assert_eq!(
                    s.due_at(&c.monitor_id),
                    Some(expected_next),
                    "drift in {}",
                    c.monitor_id
                );
            }
        }
        let fast_runs = runs["fast"];
        assert!(fast_runs > 500, "{runs:?}");
        assert!(runs["mid"] > 0 && runs["slow"] > 0, "{runs:?}");
    }

    #[test]
    fn jitter_is_bounded_deterministic_and_spread() {
        let t0 = Instant::now();
        for (interval_ms, bound) in [(4_000u64, secs(4)), (120_000, secs(10)), (500, secs(1))] {
            let checks: Vec<CheckSpec> = (0..1000)
                .map(|i| check_ms(&format!("m-{i}"), 1, interval_ms))
                .collect();
            let mut a = Scheduler::new(42);
            a.set_checks(checks.clone(), t0);
            let mut b = Scheduler::new(42);
            b.set_checks(checks.clone(), t0);
            let mut c = Scheduler::new(43);
            c.set_checks(checks.clone(), t0);
            let mut distinct = HashSet::new();
            let mut differs = 0;
            for spec in &checks {
                let due = a.due_at(&spec.monitor_id).expect("due");
                assert!(
                    due >= t0 && due < t0 + bound,
                    "jitter {:?} >= {bound:?}",
                    due - t0
                );
                assert_eq!(
                    b.due_at(&spec.monitor_id),
                    Some(due),
                    "same seed, same phase"
                );
                if c.due_at(&spec.monitor_id) != Some(due) {
                    differs += 1;
                }
                distinct.insert(due);
            }
            assert!(distinct.len() > 990, "poorly spread: {}", distinct.len());
            assert!(differs > 990, "seed barely matters: {differs}");
            // Spread over the whole window, not bunched at its start.
            let late = checks
                .iter()
                .filter(|c| a.due_at(&c.monitor_id).is_some_and(|d| d >= t0 + bound / 2))
                .count();
            assert!(
                (400..600).contains(&late),
                "{late} of 1000 in the second half"
            );
        }
    }

    #[test]
    fn replaced_check_keeps_phase() {
        let t0 = Instant::now();
        let mut s = Scheduler::new(3);
        s.set_checks(vec![check("a", 1, 30), check("b", 1, 30)], t0);
        let a_due = s.due_at("a").expect("a");
        let b_due = s.due_at("b").expect("b");
        s.poll_due(a_due.max(b_due));

        // Full assignment later, with a new revision of `a` and a new check `c`.
        let t1 = t0 + secs(12);
        s.set_checks(
            vec![check("a", 2, 30), check("b", 1, 30), check("c", 1, 30)],
            t1,
        );
        assert_eq!(s.len(), 3);
        assert_eq!(s.due_at("a"), Some(a_due + secs(30)));
        assert_eq!(s.due_at("b"), Some(b_due + secs(30)));
        let c_due = s.due_at("c").expect("c");
        assert!(c_due >= t1 && c_due < t1 + secs(10));

        // The new revision is what runs.
        let got = s.poll_due(a_due + secs(30));
        let a = got
            .iter()
            .find(|d| d.check.monitor_id == "a")
            .expect("a due");
        assert_eq!(a.check.revision, 2);

        // A delta with the same interval keeps the phase too.
        s.upsert(check("a", 3, 30), a_due + secs(31));
        assert_eq!(s.due_at("a"), Some(a_due + secs(60)));

        // A changed interval starts over with jitter from now, and only one slot survives.
        let t2 = a_due + secs(40);
        s.upsert(check("a", 4, 300), t2);
        let new_due = s.due_at("a").expect("a");
        assert!(new_due >= t2 && new_due < t2 + secs(10));
        let mut seen = 0;
        let mut now = t2;
        while now < t2 + secs(600) {
            seen += s
                .poll_due(now)
                .iter()
                .filter(|d| d.check.monitor_id == "a")
                .count();
            now += secs(1);
        }
        assert_eq!(seen, 2, "interval 300 s over 600 s after a jittered start");
    }

    #[test]
    fn removed_check_is_never_returned() {
        let t0 = Instant::now();
        let mut s = Scheduler::new(9);
        let checks: Vec<CheckSpec> = (0..50).map(|i| check(&format!("m{i}"), 1, 5)).collect();
        s.set_checks(checks, t0);
        let earliest = s.next_deadline().expect("scheduled");
        let earliest_id = (0..50)
            .map(|i| format!("m{i}"))
            .find(|id| s.due_at(id) == Some(earliest))
            .expect("someone is first");
        assert_eq!(
            s.remove(&earliest_id).map(|c| c.monitor_id.clone()),
            Some(earliest_id.clone())
        );
        assert!(s.remove(&earliest_id).is_none());
        assert!(s.remove("never-there").is_none());
        assert!(s.next_deadline() >= Some(earliest));

        // Drop ten more through a full assignment.
        let kept: Vec<CheckSpec> = (11..50).map(|i| check(&format!("m{i}"), 1, 5)).collect();
        s.set_checks(kept, t0 + secs(1));
        assert_eq!(s.len(), 39);
        assert_eq!(s.checks().count(), 39);
        assert!(s.checks().all(|c| c.monitor_id != "m3"));

        let mut now = t0;
        let mut seen = HashSet::new();
        while now < t0 + secs(3600) {
            for d in s.poll_due(now) {
                seen.insert(d.check.monitor_id.clone());
            }
            now += Duration::from_millis(250);
        }
        for i in 0..11 {
            assert!(!seen.contains(&format!("m{i}")), "m{i} ran after removal");
        }
        assert_eq!(seen.len(), 39);

        for i in 11..50 {
            s.remove(&format!("m{i}"));
        }
        assert!(s.is_empty());
        assert_eq!(s.next_deadline(), None);
        assert!(s.poll_due(now + secs(3600)).is_empty());
    }

    /// The runner polls a little ahead to start nearby checks in one wake-up: they start early,
    /// but their next runs stay on the grid of their due times.
    #[test]
    fn polling_ahead_starts_early_without_moving_the_grid() {
        let t0 = Instant::now();
        let mut s = Scheduler::new(3);
        s.upsert(check("a", 1, 1), t0);
        let due = s.due_at("a").expect("due");
        let ahead = Duration::from_millis(20);
        // Woken 30 ms before: not yet. Woken 15 ms before: it starts now.
        assert!(s
            .poll_due(due - Duration::from_millis(30) + ahead)
            .is_empty());
        let early = s.poll_due(due - Duration::from_millis(15) + ahead);
        assert_eq!(ids(&early), vec!["a"]);
        // Started 15 ms before it was due: the runner sees the due instant in the future.
        assert_eq!(early[0].due, due);
        assert_eq!(s.due_at("a"), Some(due + secs(1)));
        assert!(s.poll_due(due + Duration::from_millis(500)).is_empty());
        assert_eq!(ids(&s.poll_due(due + secs(1))), vec!["a"]);
        assert_eq!(s.due_at("a"), Some(due + secs(2)));
    }

    #[test]
    fn fell_behind_skips_missed_slots_without_bursting() {
        let t0 = Instant::now();
        let mut s = Scheduler::new(5);
        s.upsert(check("a", 1, 10), t0);
        let d = s.due_at("a").expect("a");

        // 3.5 intervals late: run once, next slot is the first on the grid after now.
        let late = d + secs(35);
        let got = s.poll_due(late);
        assert_eq!(ids(&got), ["a"]);
        assert_eq!(late - got[0].due, secs(35), "reported 35 s late");
        assert_eq!(s.next_deadline(), Some(d + secs(40)));
        assert!(s.poll_due(late).is_empty());
        assert!(s
            .poll_due(d + secs(40) - Duration::from_millis(1))
            .is_empty());
        assert_eq!(ids(&s.poll_due(d + secs(40))), ["a"]);

        // Exactly one interval late: one run, and the slot that is due "now" is skipped too.
        let on_edge = d + secs(60);
        assert_eq!(ids(&s.poll_due(on_edge)), ["a"]);
        assert_eq!(s.next_deadline(), Some(d + secs(70)));

        // Slightly late (less than one interval): the normal next slot, no skip.
        assert_eq!(ids(&s.poll_due(d + secs(79))), ["a"]);
        assert_eq!(s.next_deadline(), Some(d + secs(80)));
    }

    #[test]
    fn due_checks_come_out_earliest_first() {
        let t0 = Instant::now();
        let mut s = Scheduler::new(11);
        let checks: Vec<CheckSpec> = (0..20).map(|i| check(&format!("m{i}"), 1, 60)).collect();
        s.set_checks(checks, t0);
        let got = s.poll_due(t0 + secs(10));
        assert_eq!(got.len(), 20);
        let dues: Vec<Instant> = got.iter().map(|d| d.due).collect();
        assert!(dues.windows(2).all(|w| w[0] <= w[1]), "not in due order");
        for d in &got {
            assert_eq!(s.due_at(&d.check.monitor_id), Some(d.due + secs(60)));
        }
    }

    #[test]
    fn out_of_range_intervals_are_clamped() {
        let t0 = Instant::now();
        let mut s = Scheduler::new(0);
        s.upsert(check_ms("zero", 1, 0), t0);
        s.upsert(check_ms("huge", 1, u64::MAX), t0);
        let zero_due = s.due_at("zero").expect("zero");
        assert!(zero_due < t0 + MIN_INTERVAL);
        let huge_due = s.due_at("huge").expect("huge");
        assert!(huge_due < t0 + MAX_INITIAL_JITTER);
        let mut now = t0;
        let mut huge_runs = 0;
        let mut zero_runs = 0;
        for _ in 0..100 {
            let due = s.poll_due(now);
            zero_runs += due.iter().filter(|d| d.check.monitor_id == "zero").count();
            huge_runs += due.iter().filter(|d| d.check.monitor_id == "huge").count();
            now += Duration::from_millis(100);
        }
        // Ten seconds at a 1 s minimum interval, never more than once per poll.
        assert!((9..=11).contains(&zero_runs), "{zero_runs}");
        // The huge interval ran once after its jitter and now waits the maximum interval.
        assert_eq!(huge_runs, 1);
        assert_eq!(s.due_at("huge"), Some(huge_due + MAX_INTERVAL));
    }

    #[test]
    fn churn_does_not_grow_the_heap() {
        let t0 = Instant::now();
        let mut s = Scheduler::new(2);
        s.set_checks(
            (0..10).map(|i| check(&format!("m{i}"), 1, 30)).collect(),
            t0,
        );
        for round in 0..10_000u64 {
            // Alternating intervals force a new slot each time.
            s.upsert(
                check("m0", round, 30 + round % 2),
                t0 + Duration::from_millis(round),
            );
            s.remove("gone");
        }
        assert_eq!(s.len(), 10);
        assert!(
            s.queue.len() <= 2 * s.len() + 64 + 1,
            "heap grew to {}",
            s.queue.len()
        );
        // Still exactly one run per check per slot.
        let got = s.poll_due(t0 + secs(25));
        assert_eq!(got.len(), 10);
        let unique: HashSet<&str> = ids(&got).into_iter().collect();
        assert_eq!(unique.len(), 10);
    }
}
