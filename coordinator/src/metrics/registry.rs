//! What this coordinator counts as it runs, for `/metrics`: ingest batches and their commit
//! latency, notification delivery attempts, HTTP requests, placement moves, and when it last
//! saw the Raft snapshot change.
//!
//! The replicated state says what the cluster holds; it cannot say how long a commit took or
//! how often a webhook failed, because those happen on one coordinator and are never written
//! down. So they are kept here, in memory, since the process started (Prometheus's `rate` and
//! `increase` handle the reset at a restart).
//!
//! Recording sits on hot paths (every HTTP request, every ingest batch), so it is a few relaxed
//! atomic adds: histograms have fixed buckets, and a labelled family takes one short,
//! uncontended lock only to find its slot. Label values are bounded by construction: channel
//! types, route templates (never raw paths), methods, status classes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::exposition::{DeliveryCount, HttpSample, Runtime};

/// Upper bounds of the ingest commit latency buckets, seconds: a single-member cluster commits
/// in about a millisecond, a cross-region quorum in tens to hundreds; seconds mean elections or
/// a slow disk.
pub const COMMIT_BOUNDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Upper bounds of the results-per-batch buckets, up to
/// [`crate::edge::ingest::MAX_RESULTS_PER_ENTRY`]: a quiet cluster commits batches of one
/// node's few results, a busy one fills entries.
pub const BATCH_BOUNDS: &[f64] = &[
    1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0,
];

/// Upper bounds of the HTTP request latency buckets, seconds (time to the response head).
pub const HTTP_BOUNDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The lock-free histogram both binaries record into.
pub use netpulse_exposition::AtomicHistogram as Histogram;

/// How one notification delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeliveryResult {
    /// The channel took it.
    Delivered,
    /// It failed and will be tried again.
    Retry,
    /// It failed for good (permanent error, or out of attempts).
    Failed,
}

impl DeliveryResult {
    /// The `outcome` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryResult::Delivered => "delivered",
            DeliveryResult::Retry => "retry",
            DeliveryResult::Failed => "failed",
        }
    }
}

/// Key of one HTTP latency series: route template, method, status class.
type HttpKey = (String, String, &'static str);

/// The in-process counters of one coordinator (held in its [`crate::context::Context`]).
#[derive(Debug)]
pub struct Registry {
    ingest_batches: AtomicU64,
    ingest_failed: AtomicU64,
    ingest_results: Histogram,
    ingest_commit: Histogram,
    /// Attempts by (channel type, outcome).
    deliveries: Mutex<BTreeMap<(String, DeliveryResult), u64>>,
    http: Mutex<BTreeMap<HttpKey, Arc<Histogram>>>,
    placement_commits: AtomicU64,
    placement_added: AtomicU64,
    placement_removed: AtomicU64,
    /// The snapshot index last seen and when it was first seen (wall clock).
    snapshot_seen: Mutex<Option<(u64, SystemTime)>>,
    started: SystemTime,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// Empty counters; "now" is when the process's counting started.
    pub fn new() -> Self {
        Self {
            ingest_batches: AtomicU64::new(0),
            ingest_failed: AtomicU64::new(0),
            ingest_results: Histogram::new(BATCH_BOUNDS),
            ingest_commit: Histogram::new(COMMIT_BOUNDS),
            // Every channel type and outcome starts at 0, so `rate()` and `increase()` see the
            // first failure of a type (a series born at 1 looks like no change).
            deliveries: Mutex::new(
                netpulse_alert::ChannelConfig::KINDS
                    .iter()
                    .flat_map(|k| {
                        [
                            DeliveryResult::Delivered,
                            DeliveryResult::Retry,
                            DeliveryResult::Failed,
                        ]
                        .map(|r| (((*k).to_owned(), r), 0))
                    })
                    .collect(),
            ),
            http: Mutex::default(),
            placement_commits: AtomicU64::new(0),
            placement_added: AtomicU64::new(0),
            placement_removed: AtomicU64::new(0),
            snapshot_seen: Mutex::new(None),
            started: SystemTime::now(),
        }
    }

    /// An ingest entry of `results` items was proposed.
    pub fn ingest_proposed(&self, results: usize) {
        self.ingest_batches.fetch_add(1, Ordering::Relaxed);
        self.ingest_results.observe(results as f64);
    }

    /// An ingest entry was committed and applied `took` after it was proposed.
    pub fn ingest_committed(&self, took: Duration) {
        self.ingest_commit.observe_duration(took);
    }

    /// An ingest entry was not committed (the nodes resend).
    pub fn ingest_failed(&self) {
        self.ingest_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// One notification delivery attempt through a channel of type `kind`.
    pub fn delivery(&self, kind: &str, result: DeliveryResult) {
        if let Ok(mut map) = self.deliveries.lock() {
            *map.entry((kind.to_owned(), result)).or_default() += 1;
        }
    }

    /// One HTTP request answered with `status` after `took`, on the route template `route`.
    pub fn http_request(&self, route: &str, method: &str, status: u16, took: Duration) {
        let class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        let hist = match self.http.lock() {
            Ok(mut map) => {
                let key = (route.to_owned(), method.to_owned(), class);
                map.entry(key)
                    .or_insert_with(|| Arc::new(Histogram::new(HTTP_BOUNDS)))
                    .clone()
            }
            Err(_) => return,
        };
        hist.observe_duration(took);
    }

    /// A placement change was committed: `added` monitor-to-node assignments made and
    /// `removed` taken away.
    pub fn placement_moved(&self, added: usize, removed: usize) {
        self.placement_commits.fetch_add(1, Ordering::Relaxed);
        self.placement_added
            .fetch_add(added as u64, Ordering::Relaxed);
        self.placement_removed
            .fetch_add(removed as u64, Ordering::Relaxed);
    }

    /// Notes the Raft snapshot index seen `now`; the first time an index is seen is its time.
    pub fn snapshot_index(&self, index: Option<u64>, now: SystemTime) {
        let Some(index) = index else { return };
        if let Ok(mut seen) = self.snapshot_seen.lock() {
            if seen.map(|(i, _)| i) != Some(index) {
                *seen = Some((index, now));
            }
        }
    }

    /// The counters as plain values, for [`super::exposition::render`]. `now` dates the
    /// snapshot's age.
    pub fn runtime(&self, now: SystemTime) -> Runtime {
        let deliveries = self
            .deliveries
            .lock()
            .map(|m| {
                m.iter()
                    .map(|((kind, r), n)| DeliveryCount {
                        kind: kind.clone(),
                        outcome: r.as_str(),
                        attempts: *n,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let http = self
            .http
            .lock()
            .map(|m| {
                m.iter()
                    .map(|((route, method, class), h)| HttpSample {
                        route: route.clone(),
                        method: method.clone(),
                        status: class,
                        latency: h.values(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let snapshot_age_seconds = self.snapshot_seen.lock().ok().and_then(|s| {
            s.map(|(_, at)| {
                // A snapshot taken before this process started is dated by the start.
                let at = at.max(self.started);
                now.duration_since(at).unwrap_or_default().as_secs_f64()
            })
        });
        Runtime {
            ingest_batches: self.ingest_batches.load(Ordering::Relaxed),
            ingest_failed: self.ingest_failed.load(Ordering::Relaxed),
            ingest_results: self.ingest_results.values(),
            ingest_commit: self.ingest_commit.values(),
            deliveries,
            http,
            placement_commits: self.placement_commits.load(Ordering::Relaxed),
            placement_added: self.placement_added.load(Ordering::Relaxed),
            placement_removed: self.placement_removed.load(Ordering::Relaxed),
            snapshot_age_seconds,
            ..Runtime::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_count_by_upper_bound_and_sum() {
        let h = Histogram::new(&[1.0, 10.0]);
        for v in [0.5, 1.0, 3.0, 50.0, f64::NAN, -2.0] {
            h.observe(v);
        }
        let v = h.values();
        assert_eq!(v.counts, vec![4, 1, 1]);
        assert_eq!(v.count(), 6);
        assert!((v.sum - 54.5).abs() < 1e-9, "{}", v.sum);
    }

    #[test]
    fn every_channel_type_starts_at_zero() {
        let rt = Registry::new().runtime(SystemTime::now());
        assert_eq!(
            rt.deliveries.len(),
            netpulse_alert::ChannelConfig::KINDS.len() * 3
        );
        assert!(rt
            .deliveries
            .iter()
            .any(|d| d.kind == "webhook" && d.outcome == "failed" && d.attempts == 0));
    }

    #[test]
    fn requests_are_kept_by_route_method_and_class() {
        let r = Registry::new();
        r.http_request("/v1/monitors/{id}", "GET", 200, Duration::from_millis(3));
        r.http_request("/v1/monitors/{id}", "GET", 204, Duration::from_millis(3));
        r.http_request("/v1/monitors/{id}", "GET", 404, Duration::from_millis(3));
        r.http_request("/v1/monitors/{id}", "GET", 503, Duration::from_millis(3));
        let rt = r.runtime(SystemTime::now());
        let got: Vec<(&str, u64)> = rt
            .http
            .iter()
            .map(|h| (h.status, h.latency.count()))
            .collect();
        assert_eq!(got, vec![("2xx", 2), ("4xx", 1), ("5xx", 1)]);
    }

    #[test]
    fn deliveries_placement_and_ingest_add_up() {
        let r = Registry::new();
        r.delivery("webhook", DeliveryResult::Delivered);
        r.delivery("webhook", DeliveryResult::Retry);
        r.delivery("webhook", DeliveryResult::Retry);
        r.delivery("slack", DeliveryResult::Failed);
        r.placement_moved(3, 1);
        r.placement_moved(2, 2);
        r.ingest_proposed(7);
        r.ingest_committed(Duration::from_millis(4));
        r.ingest_failed();
        let rt = r.runtime(SystemTime::now());
        let d: Vec<(&str, &str, u64)> = rt
            .deliveries
            .iter()
            .filter(|d| d.attempts > 0)
            .map(|d| (d.kind.as_str(), d.outcome, d.attempts))
            .collect();
        assert_eq!(
            d,
            vec![
                ("slack", "failed", 1),
                ("webhook", "delivered", 1),
                ("webhook", "retry", 2)
            ]
        );
        assert_eq!(
            (
                rt.placement_commits,
                rt.placement_added,
                rt.placement_removed
            ),
            (2, 5, 3)
        );
        assert_eq!((rt.ingest_batches, rt.ingest_failed), (1, 1));
        assert_eq!(rt.ingest_results.count(), 1);
        assert_eq!(rt.ingest_commit.count(), 1);
    }

    #[test]
    fn snapshot_age_counts_from_when_the_index_changed() {
        let r = Registry::new();
        let t0 = r.started + Duration::from_secs(10);
        assert_eq!(r.runtime(t0).snapshot_age_seconds, None);
        r.snapshot_index(Some(100), t0);
        r.snapshot_index(Some(100), t0 + Duration::from_secs(5));
        assert_eq!(
            r.runtime(t0 + Duration::from_secs(30)).snapshot_age_seconds,
            Some(30.0)
        );
        r.snapshot_index(Some(200), t0 + Duration::from_secs(40));
        assert_eq!(
            r.runtime(t0 + Duration::from_secs(41)).snapshot_age_seconds,
            Some(1.0)
        );
        r.snapshot_index(None, t0 + Duration::from_secs(50));
        assert_eq!(
            r.runtime(t0 + Duration::from_secs(41)).snapshot_age_seconds,
            Some(1.0)
        );
    }
}
