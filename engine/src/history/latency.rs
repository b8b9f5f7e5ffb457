//! A mergeable latency histogram: fixed logarithmic buckets, so any two can be added and
//! percentiles read back with a bounded relative error, whatever the distribution.
//!
//! The bucket of a duration `d` µs is `ceil(log_γ(d))` with γ = 1.05: every value in a bucket
//! lies within ±2.5 % of the bucket's representative, so p50/p95/p99 read from merged hourly
//! buckets are within 2.5 % of the exact percentile of the raw durations (the scheme of
//! DDSketch, without its collapsing: the range from 1 µs to 10⁴ s is under 500 buckets, and
//! a bucket stores only the indices it saw).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Growth factor between consecutive buckets.
const GAMMA: f64 = 1.05;

/// Durations up to this many microseconds (about 27 hours) get their own bucket; longer ones
/// share the last. No probe runs that long; the cap keeps a hostile duration from minting
/// indices.
const MAX_US: u64 = 100_000_000_000;

/// Latency of a set of checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latency {
    /// Durations counted.
    pub count: u64,
    /// Their sum, µs (for the mean).
    pub sum_us: u64,
    /// Shortest, µs (0 when empty).
    pub min_us: u64,
    /// Longest, µs.
    pub max_us: u64,
    /// Bucket index → durations in it.
    pub buckets: BTreeMap<u16, u64>,
}

fn index(us: u64) -> u16 {
    if us <= 1 {
        return 0;
    }
    let us = us.min(MAX_US) as f64;
    // At most ln(1e11)/ln(1.05) ≈ 519: fits u16.
    (us.ln() / GAMMA.ln()).ceil() as u16
}

/// The value a bucket stands for: the middle of its range in relative terms, so the error
/// is at most (γ − 1) / (γ + 1) either way.
fn representative(i: u16) -> f64 {
    if i == 0 {
        return 1.0;
    }
    let hi = GAMMA.powi(i32::from(i));
    2.0 * hi / (GAMMA + 1.0)
}

impl Latency {
    /// Counts one duration.
    pub fn record(&mut self, us: u64) {
        if self.count == 0 || us < self.min_us {
            self.min_us = us;
        }
        self.max_us = self.max_us.max(us);
        self.count += 1;
        self.sum_us = self.sum_us.saturating_add(us);
        *self.buckets.entry(index(us)).or_default() += 1;
    }

    /// Adds `other` into this one.
    pub fn merge(&mut self, other: &Latency) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 || other.min_us < self.min_us {
            self.min_us = other.min_us;
        }
        self.max_us = self.max_us.max(other.max_us);
        self.count += other.count;
        self.sum_us = self.sum_us.saturating_add(other.sum_us);
        for (i, n) in &other.buckets {
            *self.buckets.entry(*i).or_default() += n;
        }
    }

    /// Mean, ms; `None` when empty.
    pub fn mean_ms(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_us as f64 / self.count as f64 / 1000.0)
    }

    /// The `q` quantile (0..=1), ms, within 2.5 % and clamped to the exact min and max;
    /// `None` when empty.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        // The rank of the quantile among the sorted durations (nearest rank, 1-based).
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, n) in &self.buckets {
            seen += n;
            if seen >= rank {
                let v = representative(*i).clamp(self.min_us as f64, self.max_us as f64);
                return Some(v / 1000.0);
            }
        }
        Some(self.max_us as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(sorted: &[u64], q: f64) -> f64 {
        let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
        sorted[rank - 1] as f64 / 1000.0
    }

    #[test]
    fn quantiles_are_within_the_bound_and_merging_equals_recording_all() {
        // A skewed, deterministic spread: 1 µs to ~40 s.
        let values: Vec<u64> = (1..5_000u64)
            .map(|i| (i * i * 7919) % 40_000_000 + 1)
            .collect();
        let mut whole = Latency::default();
        let mut parts = [Latency::default(), Latency::default(), Latency::default()];
        for (n, v) in values.iter().enumerate() {
            whole.record(*v);
            parts[n % 3].record(*v);
        }
        let mut merged = Latency::default();
        for p in &parts {
            merged.merge(p);
        }
        assert_eq!(merged, whole);
        let mut sorted = values.clone();
        sorted.sort_unstable();
        for q in [0.0, 0.5, 0.95, 0.99, 1.0] {
            let got = whole.quantile_ms(q).expect("non-empty");
            let want = exact(&sorted, q);
            assert!(
                (got - want).abs() <= want * 0.025 + 1e-9,
                "q{q}: {got} vs {want}"
            );
        }
        assert_eq!(whole.min_us, sorted[0]);
        assert_eq!(whole.max_us, *sorted.last().expect("values"));
    }

    #[test]
    fn empty_and_extreme_values() {
        let mut l = Latency::default();
        assert_eq!(l.quantile_ms(0.5), None);
        assert_eq!(l.mean_ms(), None);
        l.record(0);
        l.record(u64::MAX);
        assert_eq!(l.min_us, 0);
        assert_eq!(l.max_us, u64::MAX);
        assert!(l.buckets.keys().all(|i| *i <= index(MAX_US)));
        assert_eq!(l.quantile_ms(0.5), Some(0.001));
    }
}
