//! The replicated state machine's data: monitors, nodes, tokens, keys, results.
//!
//! [`StateStore`] owns sled trees inside the coordinator's single sled database. The Raft state
//! machine adapter calls [`StateStore::apply`] with committed commands; everything else (API, UI,
//! edge sessions) only reads. Applying is deterministic and idempotent: a command re-applied after
//! a crash (sled had not flushed the state yet, but the log had) leaves the same state.

pub mod alerting;
pub mod changes;
pub mod command;
mod decisions;
mod delivery;
mod incidents;
pub mod ingest;
pub mod model;
pub use page::Page;
mod page;
mod placement;
#[cfg(test)]
mod tests_alerting;
#[cfg(test)]
mod tests_ingest;

use netpulse_protocol::result::CheckResult;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tokio::sync::watch;

use command::{Command, CommandResponse, NodeSessionEvent};
use model::{ApiKeyRecord, EdgeNode, JoinTokenRecord, Monitor, RegionLatest, StoredResult};

/// Storage failures; the Raft layer turns them into fatal storage errors.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// sled failed.
    #[error("state storage: {0}")]
    Sled(#[from] sled::Error),
    /// A stored record did not decode: the data directory is corrupt or from a newer version.
    #[error("corrupt state record in {tree}: {detail}")]
    Corrupt { tree: &'static str, detail: String },
}

const TREES: [&str; 20] = [
    "sm_placement",
    "sm_monitors",
    "sm_nodes",
    "sm_tokens",
    "sm_keys",
    "sm_results",
    "sm_latest",
    "sm_node_seq",
    "sm_meta",
    "sm_votes",
    "sm_health",
    "sm_mesh",
    "sm_incidents",
    "sm_open_incidents",
    "sm_channels",
    "sm_notifications",
    "sm_pending",
    "sm_maintenance",
    "sm_deadlines",
    "sm_node_ingest",
];

const NEXT_COORDINATOR_ID: &[u8] = b"next_coordinator_id";

/// Version counters that readers watch to learn that something changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Versions {
    /// Bumped when monitors or nodes change (assignments may move).
    pub config: u64,
    /// Bumped when results arrive.
    pub results: u64,
    /// Bumped when incidents, channels or notifications change (the dispatcher wakes on it).
    pub alerts: u64,
}

/// Wakes a reader when monitors or nodes change, ignoring result traffic (which bumps only
/// `results`).
///
/// It remembers the configuration version current when the reader last *started reading*
/// ([`ConfigWatch::mark`]), not when it next waits: a change applied while the reader was
/// reading wakes it again. Waiting from "now" lost exactly those changes, which readers that
/// re-read only what changed (placer, assignment publisher) then never saw (found at 100,000
/// monitors: 114 checks never reached any node).
pub struct ConfigWatch {
    rx: watch::Receiver<Versions>,
    seen: u64,
}

impl ConfigWatch {
    /// Watches `rx`, counting its current version as read: call before the first read.
    pub fn new(mut rx: watch::Receiver<Versions>) -> Self {
        let seen = rx.borrow_and_update().config;
        Self { rx, seen }
    }

    /// Waits until the configuration version moves past the last [`ConfigWatch::mark`].
    /// Errs when the store is gone.
    pub async fn changed(&mut self) -> Result<(), watch::error::RecvError> {
        let seen = self.seen;
        self.rx.wait_for(|v| v.config != seen).await.map(|_| ())
    }

    /// Call right before reading the state: changes applied from here on wake the next
    /// [`ConfigWatch::changed`].
    pub fn mark(&mut self) {
        self.seen = self.rx.borrow_and_update().config;
    }
}

/// The application state of a coordinator.
#[derive(Clone)]
pub struct StateStore {
    db: sled::Db,
    monitors: sled::Tree,
    nodes: sled::Tree,
    tokens: sled::Tree,
    keys: sled::Tree,
    results: sled::Tree,
    latest: sled::Tree,
    node_seq: sled::Tree,
    meta: sled::Tree,
    placement: sled::Tree,
    votes: sled::Tree,
    health: sled::Tree,
    mesh: sled::Tree,
    incidents: sled::Tree,
    open_incidents: sled::Tree,
    channels: sled::Tree,
    notifications: sled::Tree,
    pending: sled::Tree,
    maintenance: sled::Tree,
    deadlines: sled::Tree,
    node_ingest: sled::Tree,
    versions: watch::Sender<Versions>,
    /// Monitors and placement changed, for readers that keep their own copy.
    changes: changes::Feed,
    /// The leader time of the newest applied tick or ingest (see [`StateStore::log_time`]).
    /// Not state: rebuilt from the log as it applies.
    log_clock: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    // Serializing plain data structs to JSON cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}

fn from_json<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T, StateError> {
    serde_json::from_slice(bytes).map_err(|e| StateError::Corrupt {
        tree,
        detail: e.to_string(),
    })
}

/// Key of a result: `monitor \0 checked_at (order-preserving) node \0 seq`.
fn result_key(monitor: &str, checked_at_ms: i64, node: &str, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(monitor.len() + node.len() + 18);
    k.extend_from_slice(monitor.as_bytes());
    k.push(0);
    k.extend_from_slice(&ordered_i64(checked_at_ms));
    k.extend_from_slice(node.as_bytes());
    k.push(0);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn ordered_i64(v: i64) -> [u8; 8] {
    ((v as u64) ^ (1 << 63)).to_be_bytes()
}

fn prefix(id: &str) -> Vec<u8> {
    let mut p = id.as_bytes().to_vec();
    p.push(0);
    p
}

impl StateStore {
    /// Opens (or creates) the state trees in `db`.
    pub fn open(db: &sled::Db) -> Result<Self, StateError> {
        let (versions, _) = watch::channel(Versions::default());
        Ok(Self {
            db: db.clone(),
            monitors: db.open_tree("sm_monitors")?,
            nodes: db.open_tree("sm_nodes")?,
            tokens: db.open_tree("sm_tokens")?,
            keys: db.open_tree("sm_keys")?,
            results: db.open_tree("sm_results")?,
            latest: db.open_tree("sm_latest")?,
            node_seq: db.open_tree("sm_node_seq")?,
            meta: db.open_tree("sm_meta")?,
            placement: db.open_tree("sm_placement")?,
            votes: db.open_tree("sm_votes")?,
            health: db.open_tree("sm_health")?,
            mesh: db.open_tree("sm_mesh")?,
            incidents: db.open_tree("sm_incidents")?,
            open_incidents: db.open_tree("sm_open_incidents")?,
            channels: db.open_tree("sm_channels")?,
            notifications: db.open_tree("sm_notifications")?,
            pending: db.open_tree("sm_pending")?,
            maintenance: db.open_tree("sm_maintenance")?,
            deadlines: db.open_tree("sm_deadlines")?,
            node_ingest: db.open_tree("sm_node_ingest")?,
            versions,
            changes: changes::Feed::default(),
            log_clock: Default::default(),
        })
        .and_then(|s| {
            s.upgrade_placement()?;
            Ok(s)
        })
    }

    /// Subscribe to change counters (UI live updates, assignment recomputation).
    pub fn subscribe(&self) -> watch::Receiver<Versions> {
        self.versions.subscribe()
    }

    /// Starts tracking which monitors and which nodes' placement change (see [`changes`]).
    pub fn track_changes(&self) -> changes::Tracker {
        self.changes.track()
    }

    /// Flushes state to disk (before a snapshot is reported built).
    pub async fn flush(&self) -> Result<(), StateError> {
        flush_db(&self.db).await?;
        Ok(())
    }

    /// The time the log has reached: the leader clock of the newest tick or result batch
    /// applied here, or `local_now_ms` before any. Staleness shown to people is judged on it,
    /// like decisions are, so a reader coordinator whose own clock is off shows the same as
    /// the others.
    pub fn log_time(&self, local_now_ms: i64) -> i64 {
        match self.log_clock.load(std::sync::atomic::Ordering::Relaxed) {
            0 => local_now_ms,
            t => t,
        }
    }

    /// Applies one committed command. `index` is its log index.
    pub fn apply(&self, cmd: &Command, index: u64) -> Result<CommandResponse, StateError> {
        let at = match cmd {
            Command::Tick { at_ms } => Some(*at_ms),
            Command::Ingest(b) => Some(b.received_at_ms),
            _ => None,
        };
        if let Some(at) = at {
            self.log_clock
                .store(at, std::sync::atomic::Ordering::Relaxed);
        }
        let resp = match cmd {
            Command::CreateApiKey(k) => {
                self.keys.insert(k.id.as_bytes(), json(k))?;
                CommandResponse::Ok
            }
            Command::CreateJoinToken(t) => {
                self.tokens.insert(t.id.as_bytes(), json(t))?;
                CommandResponse::Ok
            }
            Command::RevokeJoinToken { id } => match self.token(id)? {
                Some(mut t) => {
                    t.revoked = true;
                    self.tokens.insert(id.as_bytes(), json(&t))?;
                    CommandResponse::Ok
                }
                None => CommandResponse::NotFound(format!("join token {id}")),
            },
            Command::PutMonitor {
                monitor,
                expect_existing,
            } => {
                let existing = self.monitor(&monitor.id)?;
                match (existing, expect_existing) {
                    (None, true) => CommandResponse::NotFound(format!("monitor {}", monitor.id)),
                    (Some(_), false) => {
                        CommandResponse::Conflict(format!("monitor {} exists", monitor.id))
                    }
                    (existing, _) => {
                        let mut m = (**monitor).clone();
                        m.revision = index;
                        if let Some(old) = existing {
                            m.created_at_ms = old.created_at_ms;
                            // Regions no longer named drop out of the overview.
                            for region in old.regions.iter().filter(|r| !m.regions.contains(r)) {
                                self.latest.remove(latest_key(&m.id, region))?;
                                self.votes.remove(decisions::track_key(&m.id, region))?;
                            }
                        }
                        self.monitors.insert(m.id.as_bytes(), json(&m))?;
                        self.changes.monitor(&m.id);
                        // New quorum or regions apply at once; this also sets its deadline.
                        self.evaluate(&m, m.updated_at_ms, index)?;
                        self.update_mesh(m.updated_at_ms, index)?;
                        self.bump(true);
                        CommandResponse::MonitorWritten { revision: index }
                    }
                }
            }
            Command::DeleteMonitor { id } => {
                if self.monitors.remove(id.as_bytes())?.is_none() {
                    CommandResponse::NotFound(format!("monitor {id}"))
                } else {
                    self.changes.monitor(id);
                    self.remove_prefix(&self.results, &prefix(id))?;
                    self.remove_prefix(&self.latest, &prefix(id))?;
                    self.forget_decisions(id)?;
                    self.bump(true);
                    CommandResponse::Ok
                }
            }
            Command::RegisterNode(n) => {
                self.nodes.insert(n.id.as_bytes(), json(n))?;
                self.bump(true);
                CommandResponse::Ok
            }
            Command::NodeSession(ev) => self.apply_session(ev)?,
            Command::CoordinatorStarted { coordinator, at_ms } => {
                for node in self.nodes()? {
                    if node.session == Some(*coordinator) && node.session_since_ms < *at_ms {
                        let mut n = node;
                        n.session = None;
                        n.last_seen_ms = n.last_seen_ms.max(*at_ms);
                        self.nodes.insert(n.id.as_bytes(), json(&n))?;
                    }
                }
                self.bump(true);
                CommandResponse::Ok
            }
            Command::IngestResults(old) => self.apply_ingest(&old.into(), index)?,
            Command::Ingest(batch) => self.apply_ingest(batch, index)?,
            Command::SetPlacement { changes } => {
                self.set_placement(changes)?;
                self.bump(true);
                CommandResponse::Ok
            }
            Command::MovePlacement { remove, add } => {
                self.move_placement(remove, add)?;
                self.bump(true);
                CommandResponse::Ok
            }
            Command::NodesSeen {
                coordinator: _,
                nodes,
                at_ms,
            } => {
                for id in nodes {
                    if let Some(mut n) = self.node(id)? {
                        if n.last_seen_ms < *at_ms {
                            n.last_seen_ms = *at_ms;
                            self.nodes.insert(id.as_bytes(), json(&n))?;
                        }
                    }
                }
                self.bump(false);
                CommandResponse::Ok
            }
            Command::Tick { at_ms } => {
                self.apply_tick(*at_ms, index)?;
                CommandResponse::Ok
            }
            Command::PutChannel(c) => self.put_channel(c)?,
            Command::DeleteChannel { id } => self.delete_channel(id)?,
            Command::PutMaintenance(w) => self.put_maintenance(w)?,
            Command::DeleteMaintenance { id } => self.delete_maintenance(id)?,
            Command::OpenIncident {
                title,
                message,
                monitor_id,
                author,
                at_ms,
            } => self.open_manual_incident(
                title,
                message.as_deref(),
                monitor_id.as_deref(),
                author,
                *at_ms,
            )?,
            Command::IncidentAction {
                id,
                action,
                author,
                at_ms,
            } => self.apply_incident_action(id, action, author, *at_ms)?,
            Command::DeliveryAttempted {
                id,
                coordinator,
                at_ms,
                outcome,
            } => self.apply_delivery(id, *coordinator, *at_ms, outcome)?,
            Command::AllocateCoordinatorId => {
                // Id 1 is the bootstrap coordinator; joiners get 2, 3, ...
                let next = self.meta_u64(NEXT_COORDINATOR_ID)?.unwrap_or(2);
                self.meta
                    .insert(NEXT_COORDINATOR_ID, &(next + 1).to_be_bytes())?;
                CommandResponse::Allocated(next)
            }
        };
        Ok(resp)
    }

    fn bump_alerts(&self) {
        self.versions.send_modify(|v| v.alerts += 1);
    }

    fn bump(&self, config: bool) {
        self.versions.send_modify(|v| {
            if config {
                v.config += 1;
            } else {
                v.results += 1;
            }
        });
    }

    fn remove_prefix(&self, tree: &sled::Tree, p: &[u8]) -> Result<(), StateError> {
        let mut batch = sled::Batch::default();
        for kv in tree.scan_prefix(p).keys() {
            batch.remove(kv?);
        }
        tree.apply_batch(batch)?;
        Ok(())
    }

    fn apply_session(&self, ev: &NodeSessionEvent) -> Result<CommandResponse, StateError> {
        let Some(mut n) = self.node(&ev.node)? else {
            return Ok(CommandResponse::NotFound(format!("node {}", ev.node)));
        };
        match ev.coordinator {
            Some(c) => {
                n.session = Some(c);
                n.session_since_ms = ev.at_ms;
                n.labels = ev.labels.clone();
                n.version = ev.version.clone();
            }
            // A close reported by a coordinator that no longer holds the session is stale.
            None if n.session.is_some() => n.session = None,
            None => {}
        }
        n.last_seen_ms = n.last_seen_ms.max(ev.at_ms);
        self.nodes.insert(n.id.as_bytes(), json(&n))?;
        self.bump(true);
        Ok(CommandResponse::Ok)
    }

    fn meta_u64(&self, key: &[u8]) -> Result<Option<u64>, StateError> {
        match self.meta.get(key)? {
            Some(v) => <[u8; 8]>::try_from(v.as_ref())
                .map(|b| Some(u64::from_be_bytes(b)))
                .map_err(|_| StateError::Corrupt {
                    tree: "sm_meta",
                    detail: String::from_utf8_lossy(key).into_owned(),
                }),
            None => Ok(None),
        }
    }

    /// Trust on first use: an SSH monitor without a pinned host key pins the first key a node
    /// reports (`ssh_host_key` fact), in log order, so every replica pins the same key. Returns
    /// the updated monitor when it pinned one.
    fn pin_first_host_key(
        &self,
        monitor_id: &str,
        facts: &[(String, String)],
        index: u64,
        at_ms: i64,
    ) -> Result<Option<Monitor>, StateError> {
        let Some(key) = facts
            .iter()
            .find(|(k, _)| k == "ssh_host_key")
            .map(|(_, v)| v)
        else {
            return Ok(None);
        };
        if !key.starts_with("SHA256:") || key.len() > 100 {
            return Ok(None);
        }
        let Some(mut m) = self.monitor(monitor_id)? else {
            return Ok(None);
        };
        let netpulse_protocol::check::ProbeSpec::Ssh(spec) = &mut m.probe else {
            return Ok(None);
        };
        if spec.host_key_fingerprint.is_some() {
            return Ok(None);
        }
        spec.host_key_fingerprint = Some(key.clone());
        m.revision = index;
        m.updated_at_ms = m.updated_at_ms.max(at_ms);
        self.monitors.insert(m.id.as_bytes(), json(&m))?;
        self.changes.monitor(&m.id);
        self.bump(true);
        Ok(Some(m))
    }

    /// Highest sequence committed for `node` (0 when none).
    pub fn committed_seq(&self, node: &str) -> Result<u64, StateError> {
        Ok(match self.node_seq.get(node.as_bytes())? {
            Some(v) if v.len() == 8 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&v);
                u64::from_be_bytes(b)
            }
            Some(_) => {
                return Err(StateError::Corrupt {
                    tree: "sm_node_seq",
                    detail: node.to_owned(),
                })
            }
            None => 0,
        })
    }

    /// One monitor.
    pub fn monitor(&self, id: &str) -> Result<Option<Monitor>, StateError> {
        self.get_json(&self.monitors, "sm_monitors", id)
    }

    /// All monitors, ordered by id.
    pub fn monitors(&self) -> Result<Vec<Monitor>, StateError> {
        self.all_json(&self.monitors, "sm_monitors")
    }

    /// Latest result per region of a monitor.
    pub fn latest(&self, monitor_id: &str) -> Result<Vec<RegionLatest>, StateError> {
        self.latest
            .scan_prefix(prefix(monitor_id))
            .values()
            .map(|v| from_json("sm_latest", &v?))
            .collect()
    }

    /// Results of a monitor, newest first, measured at or after `since_ms`.
    pub fn results(
        &self,
        monitor_id: &str,
        since_ms: Option<i64>,
        limit: usize,
    ) -> Result<Vec<StoredResult>, StateError> {
        let p = prefix(monitor_id);
        let mut lo = p.clone();
        if let Some(since) = since_ms {
            lo.extend_from_slice(&ordered_i64(since));
        }
        let mut hi = p;
        hi.extend_from_slice(&[0xff; 9]);
        let mut out = Vec::with_capacity(limit.min(1024));
        for kv in self.results.range(lo..hi).rev().take(limit) {
            let (_, v) = kv?;
            out.push(postcard::from_bytes(&v).map_err(|e| StateError::Corrupt {
                tree: "sm_results",
                detail: e.to_string(),
            })?);
        }
        Ok(out)
    }

    /// One node.
    pub fn node(&self, id: &str) -> Result<Option<EdgeNode>, StateError> {
        self.get_json(&self.nodes, "sm_nodes", id)
    }

    /// All nodes, ordered by id.
    pub fn nodes(&self) -> Result<Vec<EdgeNode>, StateError> {
        self.all_json(&self.nodes, "sm_nodes")
    }

    /// One join token record.
    pub fn token(&self, id: &str) -> Result<Option<JoinTokenRecord>, StateError> {
        self.get_json(&self.tokens, "sm_tokens", id)
    }

    /// All join token records.
    pub fn tokens(&self) -> Result<Vec<JoinTokenRecord>, StateError> {
        self.all_json(&self.tokens, "sm_tokens")
    }

    /// One API key record.
    pub fn api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, StateError> {
        self.get_json(&self.keys, "sm_keys", id)
    }

    /// Whether any API key exists (first start creates the admin key otherwise).
    pub fn has_api_keys(&self) -> bool {
        !self.keys.is_empty()
    }

    fn get_json<T: DeserializeOwned>(
        &self,
        tree: &sled::Tree,
        name: &'static str,
        id: &str,
    ) -> Result<Option<T>, StateError> {
        tree.get(id.as_bytes())?
            .map(|v| from_json(name, &v))
            .transpose()
    }

    fn all_json<T: DeserializeOwned>(
        &self,
        tree: &sled::Tree,
        name: &'static str,
    ) -> Result<Vec<T>, StateError> {
        tree.iter().values().map(|v| from_json(name, &v?)).collect()
    }

    /// Serializes the whole application state for a Raft snapshot.
    pub fn export(&self) -> Result<Vec<u8>, StateError> {
        let mut dump: Vec<TreeDump> = Vec::new();
        for name in TREES {
            let tree = self.db.open_tree(name)?;
            let mut kvs = Vec::with_capacity(tree.len());
            for kv in tree.iter() {
                let (k, v) = kv?;
                kvs.push((k.to_vec(), v.to_vec()));
            }
            dump.push((name.to_owned(), kvs));
        }
        // An empty dump would read as a corrupt snapshot on the member it is sent to: fail here.
        postcard::to_allocvec(&SnapshotDump { trees: dump }).map_err(|e| StateError::Corrupt {
            tree: "snapshot",
            detail: format!("cannot encode the state: {e}"),
        })
    }

    /// Replaces the whole application state with a snapshot made by [`StateStore::export`].
    pub fn import(&self, data: &[u8]) -> Result<(), StateError> {
        let dump: SnapshotDump = postcard::from_bytes(data).map_err(|e| StateError::Corrupt {
            tree: "snapshot",
            detail: e.to_string(),
        })?;
        for name in TREES {
            self.db.open_tree(name)?.clear()?;
        }
        for (name, kvs) in dump.trees {
            if !TREES.contains(&name.as_str()) {
                return Err(StateError::Corrupt {
                    tree: "snapshot",
                    detail: format!("tree {name}"),
                });
            }
            let tree = self.db.open_tree(&name)?;
            let mut batch = sled::Batch::default();
            for (k, v) in kvs {
                batch.insert(k, v);
            }
            tree.apply_batch(batch)?;
        }
        // A snapshot from a coordinator that kept placement as JSON lists.
        self.upgrade_placement()?;
        self.changes.everything();
        self.bump(true);
        self.bump(false);
        Ok(())
    }
}

/// One tree of a snapshot: its name and every key/value pair.
type TreeDump = (String, Vec<(Vec<u8>, Vec<u8>)>);

/// Flushes a sled database to disk on Tokio's blocking pool.
///
/// sled 0.34's `flush_async` parks a thread of sled's own process-wide I/O pool while the write
/// it waits for is queued on that same pool, so a handful of concurrent flushes (a coordinator
/// and edge nodes in one process, log and snapshot flushes at once) can deadlock it
/// (spacejam/sled#1308). A blocking flush on Tokio's pool does not occupy sled's threads.
pub async fn flush_db(db: &sled::Db) -> Result<usize, sled::Error> {
    let db = db.clone();
    match tokio::task::spawn_blocking(move || db.flush()).await {
        Ok(r) => r,
        Err(e) => Err(sled::Error::Io(std::io::Error::other(format!(
            "flush task failed: {e}"
        )))),
    }
}

#[derive(Serialize, Deserialize)]
struct SnapshotDump {
    trees: Vec<TreeDump>,
}

fn latest_key(monitor: &str, region: &str) -> Vec<u8> {
    let mut k = prefix(monitor);
    k.extend_from_slice(region.as_bytes());
    k
}

/// What is stored of a result; `measured_at_ms` is on the leader's clock (see
/// [`StoredResult::checked_at_ms`]).
fn stored_result(r: &CheckResult, node: &EdgeNode, measured_at_ms: i64) -> StoredResult {
    StoredResult {
        region: node.region.clone(),
        node: node.id.clone(),
        seq: r.seq,
        checked_at_ms: measured_at_ms,
        status: r.status,
        duration_us: r.duration_us,
        error: r.error.clone(),
        metrics: r.metrics.clone(),
        detail: r.detail.clone(),
        facts: r.facts.clone(),
    }
}

#[cfg(test)]
mod tests {
    use netpulse_protocol::check::{ProbeSpec, SshAuth, SshSpec};
    use netpulse_protocol::result::{CheckResult, CheckStatus};

    use super::command::{Command, LegacyIngestBatch, NodeResults};
    use super::model::{EdgeNode, Monitor};
    use super::StateStore;

    fn store() -> (tempfile::TempDir, StateStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = sled::open(dir.path()).expect("sled");
        (dir, StateStore::open(&db).expect("store"))
    }

    fn result(seq: u64, key: &str) -> CheckResult {
        CheckResult {
            seq,
            monitor_id: "mon_ssh".into(),
            revision: 1,
            checked_at_ms: 1000 + seq as i64,
            status: CheckStatus::Up,
            duration_us: 10,
            error: None,
            metrics: vec![],
            detail: None,
            facts: vec![("ssh_host_key".into(), key.into())],
            impaired: false,
        }
    }

    /// Through a legacy entry, so old logs keep applying (and pinning) as before.
    fn ingest(s: &StateStore, index: u64, results: Vec<CheckResult>) {
        let batch = LegacyIngestBatch {
            received_at_ms: 5000,
            per_node: vec![NodeResults {
                node: "n-1".into(),
                results,
            }],
        };
        s.apply(&Command::IngestResults(batch), index)
            .expect("apply");
    }

    #[test]
    fn ssh_host_key_is_pinned_on_first_use_only() {
        let (_d, s) = store();
        let node = EdgeNode {
            id: "n-1".into(),
            region: "eu-west".into(),
            labels: Default::default(),
            version: String::new(),
            token_id: "t".into(),
            enrolled_at_ms: 0,
            session: None,
            session_since_ms: 0,
            last_seen_ms: 0,
            revoked: false,
            results_stored: 0,
            results_duplicate: 0,
        };
        s.apply(&Command::RegisterNode(node), 1).expect("node");
        let spec = SshSpec {
            host: "h".into(),
            port: 22,
            username: "u".into(),
            auth: SshAuth::Password("p".into()),
            host_key_fingerprint: None,
            command: None,
            expect_regex: None,
            extract: vec![],
            legacy_algorithms: false,
        };
        let monitor = Monitor {
            id: "mon_ssh".into(),
            name: "ssh".into(),
            target: "h:22".into(),
            interval_s: 60,
            timeout_s: 10,
            regions: vec!["eu-west".into()],
            paused: false,
            probe: ProbeSpec::Ssh(spec),
            revision: 0,
            created_at_ms: 0,
            updated_at_ms: 0,
            alerting: Default::default(),
        };
        s.apply(
            &Command::PutMonitor {
                monitor: Box::new(monitor),
                expect_existing: false,
            },
            2,
        )
        .expect("monitor");

        ingest(
            &s,
            3,
            vec![result(1, "SHA256:first"), result(2, "SHA256:second")],
        );
        let m = s.monitor("mon_ssh").expect("read").expect("exists");
        let ProbeSpec::Ssh(spec) = &m.probe else {
            panic!("ssh")
        };
        assert_eq!(spec.host_key_fingerprint.as_deref(), Some("SHA256:first"));
        assert_eq!(
            m.revision, 3,
            "a new revision reaches the nodes with the pin"
        );

        ingest(&s, 4, vec![result(3, "SHA256:attacker")]);
        let m = s.monitor("mon_ssh").expect("read").expect("exists");
        let ProbeSpec::Ssh(spec) = &m.probe else {
            panic!("ssh")
        };
        assert_eq!(
            spec.host_key_fingerprint.as_deref(),
            Some("SHA256:first"),
            "pinned once"
        );
        assert_eq!(m.revision, 3);
        assert_eq!(s.results("mon_ssh", None, 10).expect("results").len(), 3);
    }
}
