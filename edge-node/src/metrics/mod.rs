//! `GET /metrics` on an edge node (`netpulse edge --metrics-listen ADDR`): the node's own
//! health for Prometheus, so an operator sees a node falling behind (outbox growing, checks
//! starting late, sessions dropping) before its results go missing on the coordinators.
//!
//! ## Layout
//!
//! - [`exposition`]: the pure part. A [`Snapshot`] of plain values in, Prometheus text 0.0.4
//!   or OpenMetrics 1.0 out; names, labels and units are decided there.
//! - `netpulse_exposition`: the text formats, the lock-free histogram and `/proc/self`
//!   readings, shared with the coordinator's `/metrics`.
//! - this module: [`EdgeMetrics`], the counters the node's tasks bump as they work (atomics,
//!   and one short lock per finished check), [`gather`], which reads them with the outbox and
//!   the canaries' verdict into a snapshot, and [`serve`], the HTTP listener.
//!
//! ## Access
//!
//! No key: the exposition holds no target, monitor name or secret, only counts by probe kind,
//! status and error class. Bind it to an address only the scraper reaches (a private or
//! loopback address); see `docs/metrics.md`.
//!
//! ## Cost
//!
//! Recording is a few relaxed atomic adds per check plus one uncontended lock. A scrape reads
//! the counters, the outbox's length and its oldest pending time (in memory), and a few small
//! files in `/proc/self`, on the blocking pool; the body is a few KB whatever the assignment's
//! size.

pub mod exposition;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use netpulse_protocol::result::{CheckStatus, ErrorClass};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::canary::Health;
use crate::outbox::Outbox;
pub use exposition::{Format, HistogramValues, KindSample, ProcessSample, Snapshot};
pub use netpulse_exposition::AtomicHistogram;

/// Upper bounds of the probe duration buckets, seconds: from a LAN TCP connect to a timed-out
/// HTTP check.
pub const PROBE_DURATION_BOUNDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Upper bounds of the schedule lateness buckets, seconds. A healthy node starts checks within
/// a few milliseconds of their due time (the runner coalesces wake-ups 20 ms apart); seconds
/// mean it is short of permits or CPU.
pub const LATENESS_BOUNDS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Why the metrics listener could not run.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The address could not be bound (in use, not local, no permission).
    #[error("cannot listen for /metrics on {addr}: {source}")]
    Bind {
        /// The `--metrics-listen` address.
        addr: SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The server stopped with an I/O error.
    #[error("/metrics server: {0}")]
    Serve(#[source] std::io::Error),
}

/// Checks of one probe kind.
#[derive(Debug)]
struct KindCounters {
    /// Up, degraded, down.
    status: [u64; 3],
    by_class: BTreeMap<&'static str, u64>,
    duration: AtomicHistogram,
}

impl Default for KindCounters {
    fn default() -> Self {
        Self {
            status: [0; 3],
            by_class: BTreeMap::new(),
            duration: AtomicHistogram::new(PROBE_DURATION_BOUNDS),
        }
    }
}

/// The counters and gauges the node's tasks update as they work; shared behind an `Arc` and
/// read by [`gather`]. All totals count since the process started, as Prometheus expects of
/// counters.
#[derive(Debug)]
pub struct EdgeMetrics {
    session_connected: AtomicBool,
    session_attempts: AtomicU64,
    sessions_established: AtomicU64,
    results_stored: AtomicU64,
    results_acknowledged: AtomicU64,
    results_truncated: AtomicU64,
    assigned_checks: AtomicU64,
    lateness: AtomicHistogram,
    /// By probe kind (at most seven entries).
    kinds: Mutex<BTreeMap<&'static str, KindCounters>>,
}

impl Default for EdgeMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl EdgeMetrics {
    /// Everything at zero.
    pub fn new() -> Self {
        Self {
            session_connected: AtomicBool::new(false),
            session_attempts: AtomicU64::new(0),
            sessions_established: AtomicU64::new(0),
            results_stored: AtomicU64::new(0),
            results_acknowledged: AtomicU64::new(0),
            results_truncated: AtomicU64::new(0),
            assigned_checks: AtomicU64::new(0),
            lateness: AtomicHistogram::new(LATENESS_BOUNDS),
            kinds: Mutex::new(BTreeMap::new()),
        }
    }

    /// The session starts dialling a coordinator.
    pub fn session_attempt(&self) {
        self.session_attempts.fetch_add(1, Ordering::Relaxed);
    }

    /// A coordinator welcomed the session.
    pub fn session_established(&self) {
        self.sessions_established.fetch_add(1, Ordering::Relaxed);
        self.session_connected.store(true, Ordering::Relaxed);
    }

    /// The session ended (or its attempt failed).
    pub fn session_ended(&self) {
        self.session_connected.store(false, Ordering::Relaxed);
    }

    /// `n` results were stored durably in the outbox.
    pub fn results_stored(&self, n: usize) {
        self.results_stored.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// `n` results were acknowledged and dropped from the outbox.
    pub fn results_acknowledged(&self, n: usize) {
        self.results_acknowledged
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    /// A result was cut down to the protocol's limits.
    pub fn result_truncated(&self) {
        self.results_truncated.fetch_add(1, Ordering::Relaxed);
    }

    /// The assignment now holds `n` checks.
    pub fn set_assigned_checks(&self, n: usize) {
        self.assigned_checks.store(n as u64, Ordering::Relaxed);
    }

    /// A check started `lateness` after its due time.
    pub fn record_lateness(&self, lateness: Duration) {
        self.lateness.observe_duration(lateness);
    }

    /// A check of `kind` finished with `status` (and `class` if it reported an error) after
    /// running for `duration`.
    pub fn check_finished(
        &self,
        kind: &'static str,
        status: CheckStatus,
        class: Option<ErrorClass>,
        duration: Duration,
    ) {
        let mut kinds = self
            .kinds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let k = kinds.entry(kind).or_default();
        let i = match status {
            CheckStatus::Up => 0,
            CheckStatus::Degraded => 1,
            CheckStatus::Down => 2,
        };
        k.status[i] += 1;
        if let Some(c) = class {
            *k.by_class.entry(c.as_str()).or_default() += 1;
        }
        k.duration.observe_duration(duration);
    }

    fn kinds(&self) -> Vec<KindSample> {
        let kinds = self
            .kinds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        kinds
            .iter()
            .map(|(kind, k)| KindSample {
                kind,
                by_status: [CheckStatus::Up, CheckStatus::Degraded, CheckStatus::Down]
                    .iter()
                    .zip(k.status)
                    .filter(|(_, n)| *n > 0)
                    .map(|(s, n)| (s.as_str(), n))
                    .collect(),
                by_class: k.by_class.iter().map(|(c, n)| (*c, *n)).collect(),
                duration: k.duration.values(),
            })
            .collect()
    }
}

/// Everything a scrape reads.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The counters.
    pub metrics: Arc<EdgeMetrics>,
    /// The result outbox (length and oldest pending time).
    pub outbox: Arc<Outbox>,
    /// The canaries' verdict.
    pub health: watch::Receiver<Health>,
    /// This node's id.
    pub node_id: String,
    /// This node's region.
    pub region: String,
}

/// Reads a [`Snapshot`]; `now_ms` (Unix ms, this node's clock) dates the outbox's oldest
/// pending result. Blocking (it reads `/proc`): call it off the async workers.
pub fn gather(src: &Sources, now_ms: i64) -> Snapshot {
    let m = &src.metrics;
    let outbox_results = src.outbox.len() as u64;
    let outbox_oldest_age_seconds = if outbox_results == 0 {
        Some(0.0)
    } else {
        src.outbox
            .oldest_pending_ms()
            .map(|at| (now_ms.saturating_sub(at)).max(0) as f64 / 1000.0)
    };
    Snapshot {
        node_id: src.node_id.clone(),
        region: src.region.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        session_connected: m.session_connected.load(Ordering::Relaxed),
        session_attempts: m.session_attempts.load(Ordering::Relaxed),
        sessions_established: m.sessions_established.load(Ordering::Relaxed),
        outbox_results,
        outbox_oldest_age_seconds,
        results_stored: m.results_stored.load(Ordering::Relaxed),
        results_acknowledged: m.results_acknowledged.load(Ordering::Relaxed),
        results_truncated: m.results_truncated.load(Ordering::Relaxed),
        assigned_checks: m.assigned_checks.load(Ordering::Relaxed),
        impaired: src.health.borrow().impaired,
        kinds: m.kinds(),
        lateness: m.lateness.values(),
        process: netpulse_exposition::process::read(),
    }
}

/// The router: `GET /metrics`, nothing else.
pub fn app(src: Arc<Sources>) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(src)
}

async fn scrape(State(src): State<Arc<Sources>>, headers: HeaderMap) -> Response {
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    match tokio::task::spawn_blocking(move || exposition::render(&gather(&src, now_ms), format))
        .await
    {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            )],
            body,
        )
            .into_response(),
        Err(e) => {
            // Logged here; the scraper only learns that this scrape failed.
            tracing::error!(error = %e, "metrics scrape failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Binds the `--metrics-listen` address. Done before anything else on start, so a wrong
/// address fails the node at once instead of after enrolment.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, MetricsError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| MetricsError::Bind { addr, source })
}

/// Serves `GET /metrics` on `listener` until `shutdown` flips.
pub async fn serve(
    listener: TcpListener,
    src: Arc<Sources>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), MetricsError> {
    axum::serve(listener, app(src))
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await
        .map_err(MetricsError::Serve)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[test]
    fn histogram_buckets_by_upper_bound() {
        let h = AtomicHistogram::new(&[0.01, 0.1]);
        h.observe_duration(Duration::from_millis(10)); // on the bound: le="0.01"
        h.observe_duration(Duration::from_millis(50));
        h.observe_duration(Duration::from_secs(3));
        let v = h.values();
        assert_eq!(v.counts, vec![1, 1, 1]);
        assert_eq!(v.count(), 3);
        assert!((v.sum - 3.06).abs() < 1e-9, "{}", v.sum);
    }

    #[test]
    fn checks_are_counted_by_kind_status_and_class() {
        let m = EdgeMetrics::new();
        let ms = Duration::from_millis;
        m.check_finished("tcp", CheckStatus::Up, None, ms(2));
        m.check_finished("http", CheckStatus::Up, None, ms(20));
        m.check_finished(
            "http",
            CheckStatus::Down,
            Some(ErrorClass::Timeout),
            ms(1000),
        );
        m.check_finished(
            "http",
            CheckStatus::Down,
            Some(ErrorClass::Timeout),
            ms(1000),
        );
        let kinds = m.kinds();
        assert_eq!(kinds.len(), 2);
        assert_eq!(kinds[0].kind, "http");
        assert_eq!(kinds[0].by_status, vec![("up", 1), ("down", 2)]);
        assert_eq!(kinds[0].by_class, vec![("timeout", 2)]);
        assert_eq!(kinds[0].duration.count(), 3);
        assert_eq!(kinds[1].by_status, vec![("up", 1)]);
    }

    /// A real listener: the node's counters and outbox come out in both formats.
    #[tokio::test]
    async fn serves_both_formats_over_http() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = Arc::new(Outbox::open(dir.path()).expect("outbox"));
        let metrics = Arc::new(EdgeMetrics::new());
        metrics.session_attempt();
        metrics.session_established();
        metrics.set_assigned_checks(3);
        metrics.record_lateness(Duration::from_millis(3));
        let (_health_tx, health) = watch::channel(Health::default());
        let src = Arc::new(Sources {
            metrics,
            outbox,
            health,
            node_id: "node_x".into(),
            region: "eu-west".into(),
        });
        let listener = bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stop_rx) = watch::channel(false);
        let server = tokio::spawn(serve(listener, src, stop_rx));
        let get = |path: &'static str, accept: &'static str| async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let req = format!(
                "GET {path} HTTP/1.1\r\nHost: x\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
            );
            s.write_all(req.as_bytes()).await.expect("write");
            let mut out = String::new();
            s.read_to_string(&mut out).await.expect("read");
            out
        };
        let text = get("/metrics", "text/plain").await;
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(text.contains("text/plain; version=0.0.4"), "{text}");
        for want in [
            "netpulse_edge_session_connected 1\n",
            "netpulse_edge_assigned_checks 3\n",
            "netpulse_edge_outbox_results 0\n",
            "netpulse_edge_outbox_oldest_age_seconds 0\n",
            "netpulse_edge_schedule_lateness_seconds_bucket{le=\"0.005\"} 1\n",
            "region=\"eu-west\"",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        let om = get("/metrics", "application/openmetrics-text; version=1.0.0").await;
        assert!(om.contains("application/openmetrics-text"), "{om}");
        assert!(om.contains("# EOF\n"), "{om}");
        let other = get("/", "*/*").await;
        assert!(other.starts_with("HTTP/1.1 404"), "{other}");
        stop.send_replace(true);
        server.await.expect("join").expect("served");
    }
}
