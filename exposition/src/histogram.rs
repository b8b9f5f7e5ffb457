//! A cumulative histogram with fixed bounds, recorded from any task without a lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::HistogramValues;

/// Only grows: Prometheus computes rates and quantiles from the running totals.
#[derive(Debug)]
pub struct AtomicHistogram {
    bounds: &'static [f64],
    /// One per bound, then one for above the last.
    counts: Box<[AtomicU64]>,
    /// Sum of observations in millionths (of a second, or of whatever is observed), so it
    /// stays an integer add: about 584,000 years of seconds before it wraps.
    sum_micros: AtomicU64,
}

impl AtomicHistogram {
    /// An empty histogram with these upper bounds (ascending).
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// Records one observation (negative or NaN values count as 0).
    pub fn observe(&self, v: f64) {
        let v = if v.is_nan() { 0.0 } else { v.max(0.0) };
        let i = self
            .bounds
            .iter()
            .position(|b| v <= *b)
            .unwrap_or(self.bounds.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        // `as` saturates on overflow; a value that large is a bug elsewhere, not a panic here.
        self.sum_micros
            .fetch_add((v * 1e6).round() as u64, Ordering::Relaxed);
    }

    /// Records a duration, in seconds.
    pub fn observe_duration(&self, d: Duration) {
        self.observe(d.as_secs_f64());
    }

    /// The current totals.
    pub fn values(&self) -> HistogramValues {
        HistogramValues {
            bounds: self.bounds,
            counts: self
                .counts
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
            sum: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_their_bucket_and_sum() {
        let h = AtomicHistogram::new(&[0.01, 1.0]);
        h.observe_duration(Duration::from_millis(5));
        h.observe(0.5);
        h.observe(f64::NAN);
        h.observe(7.0);
        let v = h.values();
        assert_eq!(v.counts, vec![2, 1, 1]);
        assert!((v.sum - 7.505).abs() < 1e-9);
    }
}
