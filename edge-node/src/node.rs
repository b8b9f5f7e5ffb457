//! Runs an edge node: enrol if needed, then keep measuring and delivering.
//!
//! Four tasks share the work. The check runner owns the [`Scheduler`] and starts probes when
//! they are due; the result writer moves finished results into the durable [`Outbox`] (one flush
//! per burst, not per result); the session ([`crate::session::run`]) streams the outbox to a
//! coordinator; the canary task ([`crate::canary`]) watches the node's own network, and every
//! result measured while it reports the node impaired carries `impaired: true`. Measuring never
//! waits for the network: with no coordinator reachable the node keeps running its last known
//! assignment and the outbox grows until it can deliver.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use netpulse_protocol::check::CheckSpec;
use netpulse_protocol::limits;
use netpulse_protocol::result::{CheckResult, ErrorClass};
use netpulse_protocol::tls::{node_client_config, ALPN_EDGE};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Instant;

use crate::assignment::{self, AssignmentFile};
use crate::canary::{self, CanarySet, CanaryTargets, Health};
use crate::coordinators::Coordinators;
use crate::handover::Leaving;
use crate::identity::{self, NodeInfo};
use crate::lateness::Histogram;
use crate::metrics::{self, EdgeMetrics, MetricsError};
use crate::outbox::Outbox;
use crate::schedule::{Due, Scheduler};
use crate::session::{self, AssignmentUpdate, SessionConfig, SessionError};
use netpulse_probes::{Probe, ProbeContext, ProbeOutcome, TargetPolicy};

/// How to run an edge node.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory for identity and outbox.
    pub data_dir: PathBuf,
    /// Region tag.
    pub region: String,
    /// Coordinator QUIC addresses.
    pub coordinators: Vec<String>,
    /// Join token, needed only until the node has enrolled.
    pub join_token: Option<String>,
    /// Labels reported in hello.
    pub labels: BTreeMap<String, String>,
    /// Most probes running at once.
    pub max_concurrent_checks: usize,
    /// What the node probes to tell its own network failing from its targets failing.
    pub canaries: CanaryTargets,
    /// Time between canary rounds ([`canary::DEFAULT_INTERVAL`] unless configured).
    pub canary_interval: Duration,
    /// What this node's probes may connect to (`--allow-target` / `--deny-target` on top of
    /// the defaults that refuse link-local and cloud metadata addresses); see
    /// `docs/operations.md`, "What a probe may reach".
    pub target_policy: TargetPolicy,
    /// Where to serve `GET /metrics` (`--metrics-listen`), if anywhere; see [`crate::metrics`].
    pub metrics_listen: Option<SocketAddr>,
}

/// Why an edge node stopped.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    /// The configuration cannot work.
    #[error("configuration: {0}")]
    Config(String),
    /// Identity files could not be read or written.
    #[error(transparent)]
    Identity(#[from] identity::IdentityFileError),
    /// The local database failed.
    #[error("local storage: {0}")]
    Storage(String),
    /// Enrolment or the session failed for good.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The canary checks could not be set up.
    #[error(transparent)]
    Canary(#[from] canary::CanaryError),
    /// The `/metrics` listener could not be bound.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
}

/// Runs the node until `shutdown` flips to true or a fatal error.
pub async fn run(cfg: Config, shutdown: watch::Receiver<bool>) -> Result<(), EdgeError> {
    if cfg.coordinators.is_empty() {
        return Err(EdgeError::Config(
            "at least one --coordinator is required".into(),
        ));
    }
    // Refuse a bad --canary before enrolling, not after.
    if let CanaryTargets::Tcp(targets) = &cfg.canaries {
        for t in targets {
            canary::parse_tcp_target(t)?;
        }
    }
    // Bound before enrolling, so a wrong --metrics-listen fails at once; served once the
    // outbox is open.
    let metrics_listener = match cfg.metrics_listen {
        Some(addr) => {
            let listener = metrics::bind(addr).await?;
            let bound = listener
                .local_addr()
                .map_err(|source| MetricsError::Bind { addr, source })?;
            println!("Edge metrics on http://{bound}/metrics");
            Some(listener)
        }
        None => None,
    };
    let metrics = Arc::new(EdgeMetrics::new());
    std::fs::create_dir_all(&cfg.data_dir).map_err(|e| {
        EdgeError::Config(format!("data directory {}: {e}", cfg.data_dir.display()))
    })?;
    let identity = match identity::load(&cfg.data_dir)? {
        Some(id) => {
            if id.info.region != cfg.region {
                return Err(EdgeError::Config(format!(
                    "this data directory is enrolled in region {}, not {}",
                    id.info.region, cfg.region
                )));
            }
            id
        }
        None => {
            let token = cfg.join_token.as_deref().ok_or_else(|| {
                EdgeError::Config("not enrolled yet: --join-token is required".into())
            })?;
            let e = session::enrol(
                &cfg.coordinators,
                token,
                &cfg.region,
                Duration::from_secs(300),
            )
            .await?;
            let info = NodeInfo {
                node_id: e.enrolled.node_id.clone(),
                region: cfg.region.clone(),
            };
            identity::save(
                &cfg.data_dir,
                &info,
                &e.key_pem,
                &e.enrolled.cert_der,
                &e.enrolled.ca_der,
            )?;
            tracing::info!(node = %info.node_id, region = %info.region, "enrolled");
            identity::load(&cfg.data_dir)?
                .ok_or_else(|| EdgeError::Config("identity vanished after enrolment".into()))?
        }
    };
    let node_id = identity.info.node_id.clone();
    println!(
        "Edge node {node_id} in region {} running",
        identity.info.region
    );

    // sled now only guards the data directory (its lock) and holds what older versions
    // stored in it, so its page cache is kept small: the default is 1 GiB.
    let db = sled::Config::new()
        .path(cfg.data_dir.join("db"))
        .cache_capacity(SLED_CACHE_BYTES)
        .open()
        .map_err(|e| {
            EdgeError::Storage(format!(
                "cannot open database (is another edge node using it?): {e}"
            ))
        })?;
    // Opened after the database, whose lock keeps a second node off this data directory.
    let outbox = Arc::new(
        Outbox::open(&cfg.data_dir.join("outbox"))
            .map_err(|e| EdgeError::Storage(e.to_string()))?,
    );
    crate::migrate::sled_outbox(&db, &outbox)
        .await
        .map_err(|e| EdgeError::Storage(e.to_string()))?;
    let saved = AssignmentFile::new(&cfg.data_dir);
    let initial = initial_assignment(&saved, &db);
    let (save_tx, save_rx) = watch::channel(Arc::new(Vec::new()));
    let saver = tokio::spawn(save_assignments(saved, save_rx));

    let canaries = match &cfg.canaries {
        CanaryTargets::Disabled => CanarySet::none(),
        CanaryTargets::Tcp(targets) => CanarySet::tcp(targets)?,
        CanaryTargets::Coordinators => {
            let tls = node_client_config(&identity.tls, &identity.ca, ALPN_EDGE)
                .map_err(|e| EdgeError::Config(format!("canary TLS: {e}")))?;
            CanarySet::coordinators(&cfg.coordinators, tls, canary::DEFAULT_TIMEOUT)?
        }
    };
    if canaries.is_empty() {
        tracing::info!("canary checks disabled: this node's results are never marked impaired");
    }
    let (health, canary_task) = canary::spawn(
        canaries,
        cfg.canary_interval,
        canary::DEFAULT_TIMEOUT,
        shutdown.clone(),
    );

    let metrics_server = metrics_listener.map(|listener| {
        let sources = Arc::new(metrics::Sources {
            metrics: metrics.clone(),
            outbox: outbox.clone(),
            health: health.clone(),
            node_id: node_id.clone(),
            region: identity.info.region.clone(),
        });
        let stop = shutdown.clone();
        tokio::spawn(async move {
            if let Err(e) = metrics::serve(listener, sources, stop).await {
                tracing::error!(error = %e, "metrics listener stopped");
            }
        })
    });

    let (updates_tx, updates_rx) = mpsc::channel(64);
    let (results_tx, results_rx) = mpsc::channel(8192);
    let probe_ctx = ProbeContext::for_node(&identity.info.region, &node_id)
        .with_target_policy(cfg.target_policy.clone());
    tracing::info!(
        allow = ?cfg.target_policy.allow().iter().map(ToString::to_string).collect::<Vec<_>>(),
        deny = ?cfg.target_policy.deny().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "target policy (link-local and cloud metadata addresses are refused unless allowed exactly)"
    );
    let mut runner = tokio::spawn(run_checks(
        initial,
        save_tx,
        updates_rx,
        results_tx,
        RunnerSettings {
            ctx: probe_ctx,
            seed: seed(&node_id),
            max_concurrent: cfg.max_concurrent_checks.max(1),
            health,
            metrics: metrics.clone(),
        },
        shutdown.clone(),
    ));
    let writer = tokio::spawn(write_results(outbox.clone(), results_rx, metrics.clone()));
    let (coordinators, damaged) = Coordinators::load(&cfg.data_dir, cfg.coordinators.clone());
    if let Some(e) = damaged {
        tracing::warn!(error = %e, "ignoring the remembered coordinators");
    }
    let session_cfg = SessionConfig {
        coordinators,
        data_dir: cfg.data_dir.clone(),
        identity,
        labels: cfg.labels.clone(),
        metrics,
    };
    let outcome = session::run(session_cfg, outbox.clone(), updates_tx, shutdown).await;
    // On shutdown the runner hands the saver any change not yet saved, then ends; the saver
    // writes it and ends when the runner's sender is gone.
    let _ = tokio::time::timeout(Duration::from_secs(1), &mut runner).await;
    runner.abort();
    let _ = tokio::time::timeout(Duration::from_secs(5), saver).await;
    if let Some(task) = canary_task {
        task.abort();
    }
    if let Some(task) = metrics_server {
        task.abort();
    }
    // Let results already measured reach the outbox before stopping.
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
    // A blocking flush off sled's I/O pool (sled 0.34's flush_async can deadlock,
    // spacejam/sled#1308).
    let _ = tokio::task::spawn_blocking(move || db.flush()).await;
    outcome.map_err(EdgeError::from)
}

/// sled's page cache (its default is 1 GiB, held as the trees grow).
const SLED_CACHE_BYTES: u64 = 1 << 20;

fn seed(node_id: &str) -> u64 {
    node_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The assignment to start with: the saved file, or what an older version saved in sled
/// (moved to the file once). A damaged or unreadable file is logged and the node starts with
/// no checks: the coordinator sends the set again when the session opens.
fn initial_assignment(file: &AssignmentFile, db: &sled::Db) -> Vec<CheckSpec> {
    if file.exists() {
        return file.load().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "ignoring the saved assignment; waiting for the coordinator's");
            Vec::new()
        });
    }
    let old = match assignment::load_sled(db) {
        Ok(old) => old,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the assignment saved by an older version");
            return Vec::new();
        }
    };
    if !old.is_empty() {
        let shared: Vec<Arc<CheckSpec>> = old.iter().cloned().map(Arc::new).collect();
        match file.save(&shared) {
            Ok(()) => {
                if let Err(e) = db.drop_tree(assignment::SLED_TREE) {
                    tracing::warn!(error = %e, "cannot drop the old sled assignment tree");
                }
                tracing::info!(checks = old.len(), "saved assignment moved out of sled");
            }
            Err(e) => tracing::warn!(error = %e, "cannot move the saved assignment out of sled"),
        }
    }
    old
}

/// How long the runner waits after an assignment change before saving the whole set. A large
/// assignment arrives as several messages (`AssignmentFull` and deltas) in quick succession;
/// they are saved once, not once per message.
const SAVE_DELAY: Duration = Duration::from_secs(1);

/// Writes the newest assignment the runner publishes, off the runner (a set of 100,000 checks
/// is a few MB to encode and sync). Older versions still waiting are skipped: only the newest
/// set matters. Ends once the runner is gone and the last set is written.
async fn save_assignments(
    file: AssignmentFile,
    mut latest: watch::Receiver<Arc<Vec<Arc<CheckSpec>>>>,
) {
    while latest.changed().await.is_ok() {
        let checks = latest.borrow_and_update().clone();
        let file = file.clone();
        match tokio::task::spawn_blocking(move || file.save(&checks)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "could not save the assignment; it still applies in memory")
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not save the assignment; it still applies in memory")
            }
        }
    }
}

/// What the check runner needs besides its channels.
struct RunnerSettings {
    /// Passed to every probe build.
    ctx: ProbeContext,
    /// Scheduler jitter seed (stable per node, so phases survive restarts).
    seed: u64,
    /// Most probes running at once.
    max_concurrent: usize,
    /// The canaries' verdict, sampled around every check.
    health: watch::Receiver<Health>,
    /// Counts checks, their durations and lateness, and the assignment's size.
    metrics: Arc<EdgeMetrics>,
}

async fn run_checks(
    initial: Vec<CheckSpec>,
    save: watch::Sender<Arc<Vec<Arc<CheckSpec>>>>,
    mut updates: mpsc::Receiver<AssignmentUpdate>,
    results: mpsc::Sender<CheckResult>,
    settings: RunnerSettings,
    mut shutdown: watch::Receiver<bool>,
) {
    let RunnerSettings {
        ctx,
        seed,
        max_concurrent,
        health,
        metrics,
    } = settings;
    let mut sched = Scheduler::new(seed);
    let mut probes: HashMap<String, (u64, ProbeCell)> = HashMap::new();
    let limit = Arc::new(Semaphore::new(max_concurrent));
    let lateness = Arc::new(Histogram::new());
    let mut report = tokio::time::interval_at(
        Instant::now() + LATENESS_REPORT_PERIOD,
        LATENESS_REPORT_PERIOD,
    );
    report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    sched.set_checks(initial, Instant::now());
    metrics.set_assigned_checks(sched.len());
    // When to hand the saver the current set: set by a change, cleared by the hand-over.
    let mut save_at: Option<Instant> = None;
    let mut leaving = Leaving::default();
    let publish = |sched: &Scheduler| {
        save.send_replace(Arc::new(sched.checks().cloned().collect()));
    };
    loop {
        let next = sched
            .next_deadline()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            u = updates.recv() => {
                let Some(u) = u else { break };
                let now = Instant::now();
                save_at.get_or_insert(now + SAVE_DELAY);
                match u {
                    AssignmentUpdate::Full(checks) => {
                        // Checks left out stay for a grace: the deltas that complete a large
                        // set follow at once (see `handover`).
                        let incoming: HashSet<&str> =
                            checks.iter().map(|c| c.monitor_id.as_str()).collect();
                        leaving.full(
                            sched.checks().map(|c| c.monitor_id.as_str()),
                            &incoming,
                            now,
                        );
                        drop(incoming);
                        for c in checks {
                            sched.upsert(c, now);
                        }
                    }
                    AssignmentUpdate::Delta { upsert, remove } => {
                        for id in &remove {
                            leaving.named(id);
                            sched.remove(id);
                            probes.remove(id);
                        }
                        for c in upsert {
                            leaving.named(&c.monitor_id);
                            sched.upsert(c, now);
                        }
                    }
                }
                metrics.set_assigned_checks(sched.len());
            }
            _ = tokio::time::sleep_until(leaving.deadline().unwrap_or(next)), if leaving.deadline().is_some() => {
                let now = Instant::now();
                for id in leaving.due(now) {
                    sched.remove(&id);
                    probes.remove(&id);
                }
                metrics.set_assigned_checks(sched.len());
                save_at.get_or_insert(now + SAVE_DELAY);
            }
            _ = tokio::time::sleep_until(save_at.unwrap_or(next)), if save_at.is_some() => {
                save_at = None;
                publish(&sched);
            }
            _ = tokio::time::sleep_until(next) => {
                // Checks due within the next few milliseconds start now too: one wake-up (and
                // one park of the worker after it) serves them all.
                for Due { check, due } in sched.poll_due(Instant::now() + COALESCE) {
                    let cell = probe_for(&mut probes, &check);
                    let (results, limit, health, lateness, ctx, metrics) = (
                        results.clone(),
                        limit.clone(),
                        health.clone(),
                        lateness.clone(),
                        ctx.clone(),
                        metrics.clone(),
                    );
                    tokio::spawn(async move {
                        let Ok(_permit) = limit.acquire_owned().await else { return };
                        // Early starts (COALESCE) count as on time.
                        let late = Instant::now().saturating_duration_since(due);
                        lateness.record(late);
                        metrics.record_lateness(late);
                        let probe = built(&cell, &check, &ctx).await;
                        let result = measure(&check, probe, &health, &metrics).await;
                        let _ = results.send(result).await;
                    });
                }
            }
            _ = report.tick() => {
                let s = lateness.take();
                tracing::info!(
                    scheduled = sched.len(),
                    started = s.count,
                    p50_ms = ms(s.p50),
                    p99_ms = ms(s.p99),
                    max_ms = ms(s.max),
                    period_s = LATENESS_REPORT_PERIOD.as_secs(),
                    "schedule lateness"
                );
            }
            _ = shutdown.changed() => break,
        }
    }
    if save_at.is_some() {
        publish(&sched);
    }
}

/// How often the node logs its scheduling lateness ("schedule lateness": checks scheduled,
/// checks started in the period, and how late they started, p50/p99/max).
pub const LATENESS_REPORT_PERIOD: Duration = Duration::from_secs(60);

/// Milliseconds with 0.1 ms resolution, for logs.
fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

/// How early a check may start so that it shares its wake-up with the one due first. Spread
/// evenly, 500 checks/s woke the runner every 2 ms, and each wake-up and park of a Tokio
/// worker cost about as much CPU as the check's own syscalls. Phases stay on their grid (the
/// next run is computed from the due time, not from when it started).
const COALESCE: Duration = Duration::from_millis(20);

/// A check revision's probe, built once by the first run that needs it and shared by the runs
/// after (a failed build is kept too: the spec will not build better next time).
type ProbeCell = Arc<tokio::sync::OnceCell<Result<Arc<Probe>, String>>>;

/// The probe cell of `check`'s current revision, new when the revision changed. Builds
/// nothing: the scheduler loop must never wait for a build (see [`built`]).
fn probe_for(probes: &mut HashMap<String, (u64, ProbeCell)>, check: &CheckSpec) -> ProbeCell {
    if let Some((rev, cell)) = probes.get(&check.monitor_id) {
        if *rev == check.revision {
            return cell.clone();
        }
    }
    let cell = ProbeCell::default();
    probes.insert(check.monitor_id.clone(), (check.revision, cell.clone()));
    cell
}

/// The probe in `cell`, building it on the blocking pool if no run did yet.
///
/// Some builds are slow CPU work by design (decrypting an SSH key with a passphrase runs a key
/// derivation meant to take a while): built inline, they held the scheduler loop and a runtime
/// worker, so every other check started late (found by the probes' compliance test).
async fn built(
    cell: &ProbeCell,
    check: &CheckSpec,
    ctx: &ProbeContext,
) -> Result<Arc<Probe>, String> {
    cell.get_or_init(|| async {
        let (spec, ctx) = (check.probe.clone(), ctx.clone());
        match tokio::task::spawn_blocking(move || Probe::build(&spec, &ctx)).await {
            Ok(built) => built.map(Arc::new).map_err(|e| e.to_string()),
            Err(e) => Err(format!("probe build did not finish: {e}")),
        }
    })
    .await
    .clone()
}

/// Where the node's own network stands now: impaired, and how many impairments so far. A watch
/// borrow, so cheap enough for every check.
fn impairment(health: &watch::Receiver<Health>) -> (bool, u64) {
    let h = health.borrow();
    (h.impaired, h.episodes)
}

async fn measure(
    check: &CheckSpec,
    probe: Result<Arc<Probe>, String>,
    health: &watch::Receiver<Health>,
    metrics: &EdgeMetrics,
) -> CheckResult {
    let before = impairment(health);
    let checked_at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let outcome = match probe {
        Ok(p) => p.run(Duration::from_millis(check.timeout_ms.max(1))).await,
        Err(why) => ProbeOutcome::down(
            ErrorClass::Internal,
            format!("invalid check configuration: {why}"),
            Vec::new(),
        ),
    };
    let after = impairment(health);
    // Impaired at either end, or became impaired (and recovered) while the probe ran.
    let impaired = before.0 || after.0 || before.1 != after.1;
    let mut result = CheckResult {
        seq: 0,
        monitor_id: check.monitor_id.clone(),
        revision: check.revision,
        checked_at_ms,
        status: outcome.status,
        duration_us: outcome.duration.as_micros().min(u128::from(u64::MAX)) as u64,
        error: outcome.error,
        metrics: outcome.metrics,
        detail: outcome.detail,
        facts: outcome.facts,
        impaired,
    };
    // Cut to the limits both ends share, here where the result is made: a result the
    // coordinator would refuse is never written to the outbox.
    if let Some(cut) = limits::fit(&mut result) {
        tracing::debug!(monitor = %check.monitor_id, %cut, "result cut to the protocol limits");
        metrics.result_truncated();
    }
    metrics.check_finished(
        check.probe.kind(),
        result.status,
        result.error.as_ref().map(|e| e.class),
        Duration::from_micros(result.duration_us),
    );
    result
}

/// How long the result writer gathers results before one durable write. Each write is an
/// fsync; at hundreds of checks per second, writing every burst at once spent a third of the
/// node's CPU in sled's I/O threads. The cost is up to this much extra delivery latency.
pub const OUTBOX_LINGER: Duration = Duration::from_millis(100);

/// Most results in one durable write.
const OUTBOX_BATCH: usize = 1000;

async fn write_results(
    outbox: Arc<Outbox>,
    mut rx: mpsc::Receiver<CheckResult>,
    metrics: Arc<EdgeMetrics>,
) {
    let mut batch = Vec::with_capacity(OUTBOX_BATCH);
    // Set when the last batch was full: more may be waiting, so the next one is written at once.
    let mut backlog = false;
    loop {
        if rx.recv_many(&mut batch, OUTBOX_BATCH).await == 0 {
            // Channel closed (shutdown) and drained.
            break;
        }
        if !backlog && batch.len() < OUTBOX_BATCH {
            // Let the burst gather in the channel without waking for every result, then take
            // what came. A closed channel just ends the drain; the next `recv_many` sees it.
            tokio::time::sleep(OUTBOX_LINGER).await;
            while batch.len() < OUTBOX_BATCH {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
        }
        backlog = batch.len() >= OUTBOX_BATCH;
        loop {
            match outbox.push_slice(&mut batch).await {
                Ok(seqs) => {
                    metrics.results_stored(seqs.len());
                    break;
                }
                Err(e) => {
                    tracing::error!(error = %e, results = batch.len(), "cannot store results; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        batch.clear();
    }
}

#[cfg(test)]
mod tests {
    use netpulse_protocol::check::{ProbeSpec, TcpSpec};
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;
    use tokio::sync::oneshot;

    use super::*;

    fn tcp_check(port: u16) -> CheckSpec {
        CheckSpec {
            monitor_id: "m".into(),
            revision: 1,
            interval_ms: 60_000,
            timeout_ms: 30_000,
            probe: ProbeSpec::Tcp(TcpSpec {
                host: "127.0.0.1".into(),
                port,
                send: None,
                expect_regex: Some("READY".into()),
            }),
        }
    }

    fn health(impaired: bool, episodes: u64) -> Health {
        Health {
            impaired,
            episodes,
            ..Health::default()
        }
    }

    /// A revision's probe is built once and shared; a new revision gets a new build; a spec
    /// that does not build reports why to every run.
    #[tokio::test]
    async fn probes_are_built_once_per_revision_off_the_scheduler() {
        let ctx = ProbeContext::for_node("test", "n1");
        let mut probes = HashMap::new();
        let check = tcp_check(1);
        let cell = probe_for(&mut probes, &check);
        let first = built(&cell, &check, &ctx).await.expect("builds");
        let again = built(&probe_for(&mut probes, &check), &check, &ctx)
            .await
            .expect("builds");
        assert!(Arc::ptr_eq(&first, &again), "built once");
        let newer = CheckSpec {
            revision: 2,
            ..check.clone()
        };
        let rebuilt = built(&probe_for(&mut probes, &newer), &newer, &ctx)
            .await
            .expect("builds");
        assert!(
            !Arc::ptr_eq(&first, &rebuilt),
            "a new revision is built anew"
        );
        let broken = CheckSpec {
            monitor_id: "bad".into(),
            probe: ProbeSpec::Tcp(TcpSpec {
                host: "127.0.0.1".into(),
                port: 1,
                send: None,
                expect_regex: Some("(unclosed".into()),
            }),
            ..check
        };
        let err = built(&probe_for(&mut probes, &broken), &broken, &ctx).await;
        assert!(err.is_err(), "{err:?}");
    }

    #[tokio::test]
    async fn results_carry_the_impaired_flag_at_start() {
        let (tx, rx) = watch::channel(Health::default());
        let check = tcp_check(1);
        let r = measure(&check, Err("bad".into()), &rx, &EdgeMetrics::new()).await;
        assert!(!r.impaired);
        tx.send_replace(health(true, 1));
        let r = measure(&check, Err("bad".into()), &rx, &EdgeMetrics::new()).await;
        assert!(r.impaired);
    }

    /// A check during which the node became impaired, or became impaired and recovered again,
    /// is impaired even though its start saw a healthy node.
    #[tokio::test]
    async fn results_are_impaired_when_health_changed_during_the_run() {
        let ctx = ProbeContext::for_node("test", "n1");
        for recover_before_end in [false, true] {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let port = listener.local_addr().expect("addr").port();
            let (accepted_tx, accepted_rx) = oneshot::channel();
            let (answer_tx, answer_rx) = oneshot::channel::<()>();
            tokio::spawn(async move {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let _ = accepted_tx.send(());
                let _ = answer_rx.await;
                let _ = sock.write_all(b"READY\r\n").await;
            });
            let (tx, rx) = watch::channel(Health::default());
            let check = tcp_check(port);
            let probe = Probe::build(&check.probe, &ctx)
                .map(Arc::new)
                .map_err(|e| e.to_string());
            let run =
                tokio::spawn(async move { measure(&check, probe, &rx, &EdgeMetrics::new()).await });
            accepted_rx.await.expect("probe connected");
            tx.send_replace(health(true, 1));
            if recover_before_end {
                tx.send_replace(health(false, 1));
            }
            answer_tx.send(()).expect("listener waiting");
            let r = run.await.expect("measure");
            assert_eq!(
                r.status,
                netpulse_protocol::result::CheckStatus::Up,
                "{r:?}"
            );
            assert!(r.impaired, "recover_before_end={recover_before_end}: {r:?}");
        }
    }
}
