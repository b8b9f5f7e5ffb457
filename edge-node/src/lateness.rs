//! Scheduling lateness: how long after its due time each check actually started.
//!
//! The check runner records `start - due` for every check when its probe starts (after the
//! concurrency permit, so a node short of permits shows up here), and the node logs a summary
//! once a minute. Lateness is what an operator needs to know whether a node keeps up with its
//! assignment: results still arrive from an overloaded node, only later and later, and nothing
//! else on the node says so.
//!
//! [`Histogram`] is lock-free (one relaxed atomic add per record, from any task) and holds a
//! fixed set of buckets, so recording never allocates and the summary costs the same at 10 or
//! 100,000 checks. Buckets are log-linear: exact below 16 µs, then eight per power of two, so a
//! reported percentile is at most 12.5 % above the true value (it is the bucket's upper bound,
//! capped by the exact maximum). No clock is read here; callers pass durations in.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Values below this many microseconds get a bucket each.
const LINEAR: u64 = 16;
/// Sub-buckets per power of two above [`LINEAR`] (a power of two itself).
const SUB: u64 = 8;
/// log2 of [`SUB`].
const SUB_BITS: u32 = 3;
/// log2 of [`LINEAR`]: the first power of two with sub-buckets.
const FIRST_POW: u32 = 4;
/// Powers of two with sub-buckets: 2^4 µs up to 2^40 µs (about 12.7 days); anything longer
/// lands in one overflow bucket after them.
const POWERS: u32 = 36;
/// Number of buckets, the overflow bucket included.
const BUCKETS: usize = (LINEAR + POWERS as u64 * SUB) as usize + 1;

/// A lock-free histogram of lateness values, emptied by [`Histogram::take`].
#[derive(Debug)]
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    /// Largest value recorded since the last take, in microseconds (exact).
    max_us: AtomicU64,
}

/// What [`Histogram::take`] reports for one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Values recorded (checks started) in the period.
    pub count: u64,
    /// Median lateness (bucket upper bound; zero when nothing was recorded).
    pub p50: Duration,
    /// 99th percentile lateness (bucket upper bound; zero when nothing was recorded).
    pub p99: Duration,
    /// Largest lateness, exact.
    pub max: Duration,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max_us: AtomicU64::new(0),
        }
    }

    /// Records one value. Safe to call from any number of tasks at once.
    pub fn record(&self, lateness: Duration) {
        let us = u64::try_from(lateness.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket(us)].fetch_add(1, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// Summarises what was recorded since the last call and starts a new period. A value
    /// recorded while this runs is counted in this period or the next, never lost or twice.
    pub fn take(&self) -> Summary {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.swap(0, Ordering::Relaxed))
            .collect();
        let max_us = self.max_us.swap(0, Ordering::Relaxed);
        let count: u64 = counts.iter().sum();
        let percentile = |q: f64| {
            if count == 0 {
                return Duration::ZERO;
            }
            // Smallest value with at least ceil(q * count) values at or below it.
            let rank = ((q * count as f64).ceil() as u64).clamp(1, count);
            let mut seen = 0u64;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return Duration::from_micros(upper_bound(i).min(max_us));
                }
            }
            Duration::from_micros(max_us)
        };
        Summary {
            count,
            p50: percentile(0.50),
            p99: percentile(0.99),
            max: Duration::from_micros(max_us),
        }
    }
}

/// The bucket holding `us` microseconds.
fn bucket(us: u64) -> usize {
    if us < LINEAR {
        return us as usize;
    }
    let pow = 63 - us.leading_zeros(); // >= FIRST_POW
    if pow >= FIRST_POW + POWERS {
        return BUCKETS - 1;
    }
    let sub = (us >> (pow - SUB_BITS)) & (SUB - 1);
    (LINEAR + u64::from(pow - FIRST_POW) * SUB + sub) as usize
}

/// The largest value (µs) that lands in bucket `i`.
fn upper_bound(i: usize) -> u64 {
    let i = i as u64;
    if i < LINEAR {
        return i;
    }
    if i as usize == BUCKETS - 1 {
        return u64::MAX;
    }
    let pow = (i - LINEAR) / SUB + u64::from(FIRST_POW);
    let sub = (i - LINEAR) % SUB;
    let width = 1u64 << (pow - u64::from(SUB_BITS));
    (1u64 << pow) + (sub + 1) * width - 1
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn buckets_are_contiguous_and_within_an_eighth() {
        let mut last = None;
        for us in (0..100_000u64).chain([1 << 30, (1 << 40) - 1]) {
            let b = bucket(us);
            assert!(upper_bound(b) >= us, "{us} above its bucket's bound");
            if b > 0 {
                assert!(upper_bound(b - 1) < us, "{us} belongs to an earlier bucket");
            }
            // The bound overstates a value by at most 12.5 %.
            assert!(
                upper_bound(b) - us <= us / 8,
                "{us}: bound {}",
                upper_bound(b)
            );
            if let Some(l) = last {
                assert!(b >= l, "buckets not monotonic at {us}");
            }
            last = Some(b);
        }
        assert_eq!(bucket((1 << 40) - 1), BUCKETS - 2);
        assert_eq!(bucket(1 << 40), BUCKETS - 1);
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn empty_period_is_all_zero() {
        let h = Histogram::new();
        assert_eq!(h.take(), Summary::default());
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let h = Histogram::new();
        // 1..=1000 ms, once each: p50 = 500 ms, p99 = 990 ms, max = 1000 ms.
        for v in 1..=1000 {
            h.record(ms(v));
        }
        let s = h.take();
        assert_eq!(s.count, 1000);
        assert_eq!(s.max, ms(1000));
        assert!(s.p50 >= ms(500) && s.p50 <= ms(500) + ms(500) / 8, "{s:?}");
        assert!(s.p99 >= ms(990) && s.p99 <= ms(1000), "{s:?}");
    }

    #[test]
    fn a_percentile_never_exceeds_the_maximum() {
        let h = Histogram::new();
        for _ in 0..10 {
            h.record(Duration::from_micros(17_000));
        }
        let s = h.take();
        assert_eq!((s.p50, s.p99, s.max), (ms(17), ms(17), ms(17)));
    }

    #[test]
    fn a_few_late_checks_show_in_p99_not_p50() {
        let h = Histogram::new();
        for _ in 0..980 {
            h.record(Duration::ZERO);
        }
        for _ in 0..20 {
            h.record(ms(300));
        }
        let s = h.take();
        assert_eq!(s.p50, Duration::ZERO);
        assert!(s.p99 >= ms(300) && s.p99 <= ms(300), "{s:?}");
        assert_eq!(s.max, ms(300));
    }

    #[test]
    fn take_starts_a_new_period() {
        let h = Histogram::new();
        h.record(ms(40));
        assert_eq!(h.take().count, 1);
        let s = h.take();
        assert_eq!(s, Summary::default());
        h.record(ms(2));
        let s = h.take();
        assert_eq!((s.count, s.max), (1, ms(2)));
    }

    #[test]
    fn huge_values_are_kept_in_the_last_bucket() {
        let h = Histogram::new();
        h.record(Duration::from_secs(365 * 24 * 3600));
        h.record(Duration::MAX);
        let s = h.take();
        assert_eq!(s.count, 2);
        assert_eq!(s.max, Duration::from_micros(u64::MAX));
        assert_eq!(s.p99, s.max);
    }

    #[test]
    fn concurrent_records_are_all_counted() {
        let h = Arc::new(Histogram::new());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let h = h.clone();
                std::thread::spawn(move || {
                    for i in 0..10_000u64 {
                        h.record(Duration::from_micros(i * (t + 1)));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("recorder");
        }
        let s = h.take();
        assert_eq!(s.count, 40_000);
        assert_eq!(s.max, Duration::from_micros(9_999 * 4));
    }
}
