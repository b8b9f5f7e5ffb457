//! What a rollup bucket keeps of the results measured in it, and the resolutions it is kept at.

use std::collections::BTreeMap;

use netpulse_protocol::result::CheckStatus;
use serde::{Deserialize, Serialize};

use super::Latency;
use crate::model::StoredResult;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// How wide a rollup bucket is. Buckets are aligned to UTC hours and days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    /// One hour.
    Hour,
    /// One UTC day.
    Day,
}

impl Resolution {
    /// Both, finest first.
    pub const ALL: [Resolution; 2] = [Resolution::Hour, Resolution::Day];

    /// Bucket width, ms.
    pub fn width_ms(self) -> i64 {
        match self {
            Resolution::Hour => HOUR_MS,
            Resolution::Day => DAY_MS,
        }
    }

    /// Start of the bucket holding `at_ms`.
    pub fn bucket_start(self, at_ms: i64) -> i64 {
        at_ms.div_euclid(self.width_ms()) * self.width_ms()
    }

    /// The byte that names it in storage keys.
    pub fn tag(self) -> u8 {
        match self {
            Resolution::Hour => b'h',
            Resolution::Day => b'd',
        }
    }

    /// The API's step name (`1h`, `1d`).
    pub fn step(self) -> &'static str {
        match self {
            Resolution::Hour => "1h",
            Resolution::Day => "1d",
        }
    }

    /// The resolution of an API step.
    pub fn from_step(s: &str) -> Option<Self> {
        match s {
            "1h" => Some(Resolution::Hour),
            "1d" => Some(Resolution::Day),
            _ => None,
        }
    }
}

/// The results of one monitor in one region (or merged over regions) within one bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollup {
    /// Results counted.
    pub checks: u64,
    /// Of which down.
    pub failed: u64,
    /// Of which degraded.
    pub degraded: u64,
    /// Failed or degraded results by error class (`timeout`, `dns`, ...).
    pub by_class: BTreeMap<String, u64>,
    /// Duration of every counted run.
    pub latency: Latency,
}

impl Rollup {
    /// Counts one result.
    pub fn record(&mut self, r: &StoredResult) {
        self.checks += 1;
        match r.status {
            CheckStatus::Up => {}
            CheckStatus::Degraded => self.degraded += 1,
            CheckStatus::Down => self.failed += 1,
        }
        if let Some(e) = &r.error {
            *self
                .by_class
                .entry(e.class.as_str().to_owned())
                .or_default() += 1;
        }
        self.latency.record(r.duration_us);
    }

    /// Adds `other` into this one.
    pub fn merge(&mut self, other: &Rollup) {
        self.checks += other.checks;
        self.failed += other.failed;
        self.degraded += other.degraded;
        for (c, n) in &other.by_class {
            *self.by_class.entry(c.clone()).or_default() += n;
        }
        self.latency.merge(&other.latency);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_align_to_utc_hours_and_days() {
        let t = 1_700_000_123_456;
        assert_eq!(Resolution::Hour.bucket_start(t) % HOUR_MS, 0);
        assert!(Resolution::Hour.bucket_start(t) <= t);
        assert!(t < Resolution::Hour.bucket_start(t) + HOUR_MS);
        assert_eq!(Resolution::Day.bucket_start(-1), -DAY_MS);
        for r in Resolution::ALL {
            assert_eq!(Resolution::from_step(r.step()), Some(r));
        }
    }
}
