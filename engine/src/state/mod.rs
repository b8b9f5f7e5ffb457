//! The replicated state machine's data: monitors, nodes, tokens, keys, results, and the
//! rules that apply commands to them.
//!
//! [`State`] reads and writes [`Tables`]. The Raft state machine adapter calls
//! [`State::apply`] with committed commands; everything else (API, UI, edge sessions) only
//! reads. Each command's writes are committed as one batch, so no reader sees half a command.
//! Applying is deterministic and idempotent: a command re-applied after a crash (the log had
//! been flushed, the state not yet) leaves the same state.

mod access;
pub mod alerting;
mod answer;
mod changed;
pub mod command;
mod decisions;
mod delivery;
mod history;
pub use history::{UptimeBucket, UptimeReport, MAX_BUCKETS};
mod incidents;
pub mod ingest;
pub mod model;
mod names;
pub use page::Page;
mod page;
mod placement;
pub mod public;
pub mod retention;
pub mod status_pages;
#[cfg(test)]
mod tests_alerting;
#[cfg(test)]
mod tests_history;
#[cfg(test)]
mod tests_ingest;
#[cfg(test)]
mod tests_status_pages;

use std::ops::Bound;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use netpulse_protocol::result::CheckResult;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::tables::{Batch, StorageError, Table, Tables};
use access::{lock, Tx};
pub use answer::{Answer, Refused};
pub use changed::{Applied, Changed};
use command::{Command, CommandResponse, NodeSessionEvent};
use model::{ApiKeyRecord, EdgeNode, JoinTokenRecord, Monitor, RegionLatest, StoredResult};

/// State failures; the Raft layer turns them into fatal storage errors.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The tables failed.
    #[error("state storage")]
    Storage(#[from] StorageError),
    /// A stored record did not decode: the data directory is corrupt or from a newer version.
    #[error("corrupt state record in {tree}: {detail}")]
    Corrupt { tree: &'static str, detail: String },
}

const NEXT_COORDINATOR_ID: &[u8] = b"next_coordinator_id";

/// The application state of a coordinator, over any [`Tables`].
///
/// A clone reads the same tables. While a command applies, a private clone carries the
/// command's pending writes ([`Tx`]); readers never see them before the commit.
pub struct State<T> {
    tables: T,
    /// The command being applied, on the applying clone only.
    tx: Option<Tx>,
    /// The leader time of the newest applied tick or ingest (see [`State::log_time`]).
    /// Not state: rebuilt from the log as it applies.
    log_clock: Arc<AtomicI64>,
}

impl<T: Clone> Clone for State<T> {
    fn clone(&self) -> Self {
        Self {
            tables: self.tables.clone(),
            tx: None,
            log_clock: self.log_clock.clone(),
        }
    }
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

impl<T: Tables + Clone> State<T> {
    /// The state kept in `tables`, upgrading an older layout in place.
    pub fn open(tables: T) -> Result<Self, StateError> {
        let s = Self {
            tables,
            tx: None,
            log_clock: Default::default(),
        };
        s.transaction(Batch::default(), |s| {
            s.upgrade_placement()?;
            s.upgrade_monitor_names()?;
            s.upgrade_history()
        })?;
        Ok(s)
    }

    /// The time the log has reached: the leader clock of the newest tick or result batch
    /// applied here, or `local_now_ms` before any. Staleness shown to people is judged on it,
    /// like decisions are, so a reader coordinator whose own clock is off shows the same as
    /// the others.
    pub fn log_time(&self, local_now_ms: i64) -> i64 {
        match self.log_clock.load(Ordering::Relaxed) {
            0 => local_now_ms,
            t => t,
        }
    }

    /// Applies one committed command (`index` is its log index) and commits its writes as
    /// one batch. Returns the command's response and what it changed, for the caller to
    /// wake its readers with.
    pub fn apply(&self, cmd: &Command, index: u64) -> Result<Applied, StateError> {
        let at = match cmd {
            Command::Tick { at_ms } => Some(*at_ms),
            Command::Ingest(b) => Some(b.received_at_ms),
            _ => None,
        };
        if let Some(at) = at {
            self.log_clock.store(at, Ordering::Relaxed);
        }
        let (response, changed) =
            self.transaction(Batch::default(), |s| s.apply_command(cmd, index))?;
        Ok(Applied { response, changed })
    }

    /// Runs `f` on a clone that collects its writes on top of `batch`, then commits them all
    /// as one batch.
    fn transaction<R>(
        &self,
        batch: Batch,
        f: impl FnOnce(&Self) -> Result<R, StateError>,
    ) -> Result<(R, Changed), StateError> {
        let tx = Tx {
            batch: batch.into(),
            changed: Default::default(),
        };
        let applying = Self {
            tables: self.tables.clone(),
            tx: Some(tx),
            log_clock: self.log_clock.clone(),
        };
        let out = f(&applying)?;
        // Set just above; the default is never reached.
        let tx = applying.tx.unwrap_or_default();
        let batch = tx.batch.into_inner().unwrap_or_else(|e| e.into_inner());
        if !batch.is_empty() {
            self.tables.commit(batch)?;
        }
        Ok((
            out,
            tx.changed.into_inner().unwrap_or_else(|e| e.into_inner()),
        ))
    }

    /// Records what the running command changed (nothing outside a command: opening).
    fn note(&self, f: impl FnOnce(&mut Changed)) {
        if let Some(tx) = &self.tx {
            f(&mut lock(&tx.changed));
        }
    }

    fn apply_command(&self, cmd: &Command, index: u64) -> Result<CommandResponse, StateError> {
        let resp = match cmd {
            Command::CreateApiKey(k) => {
                self.table(Table::Keys).insert(k.id.as_bytes(), json(k))?;
                CommandResponse::Ok
            }
            Command::CreateJoinToken(t) => {
                self.table(Table::Tokens).insert(t.id.as_bytes(), json(t))?;
                CommandResponse::Ok
            }
            Command::RevokeJoinToken { id } => match self.token(id)? {
                Some(mut t) => {
                    t.revoked = true;
                    self.table(Table::Tokens).insert(id.as_bytes(), json(&t))?;
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
                        self.index_name(existing.as_ref(), &m)?;
                        if let Some(old) = existing {
                            m.created_at_ms = old.created_at_ms;
                            // Regions no longer named drop out of the overview.
                            for region in old.regions.iter().filter(|r| !m.regions.contains(r)) {
                                self.table(Table::Latest)
                                    .remove(latest_key(&m.id, region))?;
                                self.table(Table::Votes)
                                    .remove(decisions::track_key(&m.id, region))?;
                            }
                        }
                        self.table(Table::Monitors)
                            .insert(m.id.as_bytes(), json(&m))?;
                        self.note(|c| c.monitor(&m.id));
                        // New quorum or regions apply at once; this also sets its deadline.
                        self.evaluate(&m, m.updated_at_ms, index)?;
                        // Created, paused or resumed: the timeline says so.
                        self.note_state(&m, None, m.updated_at_ms)?;
                        self.update_mesh(m.updated_at_ms, index)?;
                        self.note(|c| c.config = true);
                        CommandResponse::MonitorWritten { revision: index }
                    }
                }
            }
            Command::DeleteMonitor { id } => {
                let old = self.monitor(id)?;
                if let Some(old) = &old {
                    self.table(Table::Monitors).remove(id.as_bytes())?;
                    self.unindex_name(old)?;
                }
                if old.is_none() {
                    CommandResponse::NotFound(format!("monitor {id}"))
                } else {
                    self.note(|c| c.monitor(id));
                    self.table(Table::Results).remove_prefix(&prefix(id))?;
                    self.table(Table::Latest).remove_prefix(&prefix(id))?;
                    self.table(Table::Timeline).remove_prefix(&prefix(id))?;
                    self.table(Table::Rollups).remove_prefix(&prefix(id))?;
                    self.forget_decisions(id)?;
                    self.note(|c| c.config = true);
                    CommandResponse::Ok
                }
            }
            Command::RegisterNode(n) => {
                self.table(Table::Nodes).insert(n.id.as_bytes(), json(n))?;
                self.note(|c| c.config = true);
                CommandResponse::Ok
            }
            Command::NodeSession(ev) => self.apply_session(ev)?,
            Command::CoordinatorStarted { coordinator, at_ms } => {
                for node in self.nodes()? {
                    if node.session == Some(*coordinator) && node.session_since_ms < *at_ms {
                        let mut n = node;
                        n.session = None;
                        n.last_seen_ms = n.last_seen_ms.max(*at_ms);
                        self.table(Table::Nodes).insert(n.id.as_bytes(), json(&n))?;
                    }
                }
                self.note(|c| c.config = true);
                CommandResponse::Ok
            }
            Command::IngestResults(old) => self.apply_ingest(&old.into(), index)?,
            Command::Ingest(batch) => self.apply_ingest(batch, index)?,
            Command::SetPlacement { changes } => {
                self.set_placement(changes)?;
                self.note(|c| c.config = true);
                CommandResponse::Ok
            }
            Command::MovePlacement { remove, add } => {
                self.move_placement(remove, add)?;
                self.note(|c| c.config = true);
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
                            self.table(Table::Nodes).insert(id.as_bytes(), json(&n))?;
                        }
                    }
                }
                self.note(|c| c.results = true);
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
            Command::SetRetention(r) => {
                self.set_retention(r)?;
                CommandResponse::Ok
            }
            Command::PutStatusPage {
                page,
                expect_existing,
            } => self.put_status_page(page, *expect_existing)?,
            Command::DeleteStatusPage { id } => self.delete_status_page(id)?,
            Command::AllocateCoordinatorId => {
                // Id 1 is the bootstrap coordinator; joiners get 2, 3, ...
                let next = self.meta_u64(NEXT_COORDINATOR_ID)?.unwrap_or(2);
                self.table(Table::Meta)
                    .insert(NEXT_COORDINATOR_ID, (next + 1).to_be_bytes())?;
                CommandResponse::Allocated(next)
            }
        };
        Ok(resp)
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
        self.table(Table::Nodes).insert(n.id.as_bytes(), json(&n))?;
        self.note(|c| c.config = true);
        Ok(CommandResponse::Ok)
    }

    fn meta_u64(&self, key: &[u8]) -> Result<Option<u64>, StateError> {
        match self.table(Table::Meta).get(key)? {
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
        self.table(Table::Monitors)
            .insert(m.id.as_bytes(), json(&m))?;
        self.note(|c| c.monitor(&m.id));
        self.note(|c| c.config = true);
        Ok(Some(m))
    }

    /// Highest sequence committed for `node` (0 when none).
    pub fn committed_seq(&self, node: &str) -> Result<u64, StateError> {
        Ok(match self.table(Table::NodeSeq).get(node.as_bytes())? {
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
        self.get_json(Table::Monitors, id)
    }

    /// All monitors, ordered by id.
    pub fn monitors(&self) -> Result<Vec<Monitor>, StateError> {
        self.all_json(Table::Monitors)
    }

    /// Latest result per region of a monitor.
    pub fn latest(&self, monitor_id: &str) -> Result<Vec<RegionLatest>, StateError> {
        self.table(Table::Latest)
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
        Ok(self.results_page(monitor_id, since_ms, None, limit)?.0)
    }

    /// Up to `limit` results of a monitor, newest first, measured at or after `since_ms` and
    /// strictly older than the result `before` names (a cursor from an earlier page). The
    /// second value is the cursor of the next page: the last result's place, when the page
    /// is full (there may be more).
    pub fn results_page(
        &self,
        monitor_id: &str,
        since_ms: Option<i64>,
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<(Vec<StoredResult>, Option<Vec<u8>>), StateError> {
        let p = prefix(monitor_id);
        let mut lo = p.clone();
        if let Some(since) = since_ms {
            lo.extend_from_slice(&ordered_i64(since));
        }
        // Keys past every result of the monitor: its prefix then 0xff (no time starts so).
        let mut hi = p.clone();
        hi.extend_from_slice(before.unwrap_or(&[0xff; 9]));
        let mut out = Vec::with_capacity(limit.min(1024));
        let mut last_key = None;
        let table = self.table(Table::Results);
        for kv in table
            .scan(Bound::Included(&lo), Bound::Excluded(&hi), true)
            .take(limit)
        {
            let (k, v) = kv?;
            out.push(postcard::from_bytes(&v).map_err(|e| StateError::Corrupt {
                tree: "sm_results",
                detail: e.to_string(),
            })?);
            last_key = Some(k);
        }
        let next = if out.len() == limit {
            last_key.and_then(|k| k.get(p.len()..).map(<[u8]>::to_vec))
        } else {
            None
        };
        Ok((out, next))
    }

    /// One node.
    pub fn node(&self, id: &str) -> Result<Option<EdgeNode>, StateError> {
        self.get_json(Table::Nodes, id)
    }

    /// All nodes, ordered by id.
    pub fn nodes(&self) -> Result<Vec<EdgeNode>, StateError> {
        self.all_json(Table::Nodes)
    }

    /// One join token record.
    pub fn token(&self, id: &str) -> Result<Option<JoinTokenRecord>, StateError> {
        self.get_json(Table::Tokens, id)
    }

    /// All join token records.
    pub fn tokens(&self) -> Result<Vec<JoinTokenRecord>, StateError> {
        self.all_json(Table::Tokens)
    }

    /// One API key record.
    pub fn api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, StateError> {
        self.get_json(Table::Keys, id)
    }

    /// Whether any API key exists (first start creates the admin key otherwise).
    pub fn has_api_keys(&self) -> Result<bool, StateError> {
        Ok(!self.table(Table::Keys).is_empty()?)
    }

    fn get_json<R: DeserializeOwned>(
        &self,
        table: Table,
        id: &str,
    ) -> Result<Option<R>, StateError> {
        self.table(table)
            .get(id.as_bytes())?
            .map(|v| from_json(table.name(), &v))
            .transpose()
    }

    fn all_json<R: DeserializeOwned>(&self, table: Table) -> Result<Vec<R>, StateError> {
        self.table(table)
            .iter()
            .values()
            .map(|v| from_json(table.name(), &v?))
            .collect()
    }

    /// Serializes the whole application state for a Raft snapshot.
    ///
    /// Tables are named as the sled trees of earlier versions were, so members of either
    /// version install each other's snapshots.
    pub fn export(&self) -> Result<Vec<u8>, StateError> {
        let mut dump: Vec<TreeDump> = Vec::new();
        for table in Table::ALL.iter().filter(|t| !t.is_derived()) {
            let kvs = self.table(*table).iter().collect::<Result<Vec<_>, _>>()?;
            dump.push((table.name().to_owned(), kvs));
        }
        // An empty dump would read as a corrupt snapshot on the member it is sent to: fail here.
        postcard::to_allocvec(&SnapshotDump { trees: dump }).map_err(|e| StateError::Corrupt {
            tree: "snapshot",
            detail: format!("cannot encode the state: {e}"),
        })
    }

    /// Replaces the whole application state with a snapshot made by [`State::export`], in
    /// one batch: a reader sees the old state or the new one.
    pub fn import(&self, data: &[u8]) -> Result<Changed, StateError> {
        let dump: SnapshotDump = postcard::from_bytes(data).map_err(|e| StateError::Corrupt {
            tree: "snapshot",
            detail: e.to_string(),
        })?;
        let mut batch = Batch::default();
        for table in Table::ALL {
            batch.clear(*table);
        }
        for (name, kvs) in dump.trees {
            let Some(table) = Table::from_name(&name) else {
                return Err(StateError::Corrupt {
                    tree: "snapshot",
                    detail: format!("tree {name}"),
                });
            };
            for (k, v) in kvs {
                batch.put(table, k, v);
            }
        }
        let (_, mut changed) = self.transaction(batch, |s| {
            // A snapshot from a coordinator that kept placement as JSON lists.
            s.upgrade_placement()?;
            s.upgrade_monitor_names()
        })?;
        changed.everything = true;
        changed.config = true;
        changed.results = true;
        changed.alerts = true;
        changed.pages = true;
        changed.health = true;
        Ok(changed)
    }
}

/// One tree of a snapshot: its name and every key/value pair.
type TreeDump = (String, Vec<(Vec<u8>, Vec<u8>)>);

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
    use super::State;
    use crate::tables::MemTables;

    fn store() -> State<MemTables> {
        State::open(MemTables::new()).expect("store")
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
    fn ingest(s: &State<MemTables>, index: u64, results: Vec<CheckResult>) {
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
        let s = store();
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
