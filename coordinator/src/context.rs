//! What every part of a running coordinator shares: its id, the state, Raft, the CA, the live
//! edge sessions and the peer transport, plus the write path.
//!
//! Writes go through [`Context::write`] from anywhere (API, edge sessions, ingest): on the
//! leader they are committed directly; on a follower they are forwarded to the leader over the
//! peer transport, retrying while an election is under way.

use std::sync::Arc;
use std::time::Duration;

use netpulse_protocol::identity::ClusterCa;
use openraft::error::{ClientWriteError, RaftError};

use crate::cluster::messages::{Committed, ForwardError, PeerRequest, PeerResponse};
use crate::cluster::transport::{CallError, Peers};
use crate::edge::registry::Sessions;
use crate::raft::Raft;
use crate::store::StateStore;
use netpulse_engine::command::{Command, CommandResponse};

/// How long a write may wait for a leader before it fails.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a write did not commit.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// No leader could take the write in time.
    #[error("no leader available{}", leader.map(|l| format!(" (last known leader {l})")).unwrap_or_default())]
    NotLeader { leader: Option<u64> },
    /// Raft is shutting down or failed.
    #[error("consensus unavailable: {0}")]
    Unavailable(String),
}

/// What a [`Context`] is made of.
pub struct Parts {
    /// Raft node id.
    pub id: u64,
    /// The replicated state.
    pub store: StateStore,
    /// The Raft handle.
    pub raft: Raft,
    /// The cluster CA (issues node certificates).
    pub ca: ClusterCa,
    /// Live edge sessions on this coordinator.
    pub sessions: Sessions,
    /// QUIC connections to the other coordinators.
    pub peers: Peers,
    /// Seals channel credentials (the same key on every coordinator).
    pub secret_key: netpulse_alert::SecretKey,
    /// Sends alerts; shared so its HTTP connection pool and TLS roots are built once.
    pub sender: netpulse_alert::Sender,
    /// Flips to true when the coordinator stops.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

/// Shared handle to a running coordinator.
#[derive(Clone)]
pub struct Context {
    inner: Arc<Parts>,
    /// Counters for `/metrics`, made here rather than passed in [`Parts`]: every coordinator
    /// has exactly one, and nothing outside the process could supply it.
    metrics: Arc<crate::metrics::registry::Registry>,
}

impl Context {
    /// Bundles the parts of a coordinator.
    pub fn new(parts: Parts) -> Self {
        Self {
            inner: Arc::new(parts),
            metrics: Arc::default(),
        }
    }

    /// What this coordinator counts as it runs (ingest, notifications, HTTP, placement).
    pub fn metrics(&self) -> &crate::metrics::registry::Registry {
        &self.metrics
    }

    /// The key that seals channel credentials at rest (the same on every coordinator).
    pub fn secret_key(&self) -> &netpulse_alert::SecretKey {
        &self.inner.secret_key
    }

    /// The alert sender (dispatcher and channel tests).
    pub fn sender(&self) -> &netpulse_alert::Sender {
        &self.inner.sender
    }

    /// Resolves when the coordinator begins to shut down, so long-lived responses (the UI's
    /// event stream) end instead of holding up a graceful stop.
    pub async fn stopping(&self) {
        let mut rx = self.inner.shutdown.clone();
        let _ = rx.wait_for(|stop| *stop).await;
    }

    /// This coordinator's Raft node id.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The replicated state (read side).
    pub fn store(&self) -> &StateStore {
        &self.inner.store
    }

    /// The Raft handle.
    pub fn raft(&self) -> &Raft {
        &self.inner.raft
    }

    /// The cluster CA.
    pub fn ca(&self) -> &ClusterCa {
        &self.inner.ca
    }

    /// Live edge sessions on this coordinator.
    pub fn sessions(&self) -> &Sessions {
        &self.inner.sessions
    }

    /// Connections to the other coordinators.
    pub fn peers(&self) -> &Peers {
        &self.inner.peers
    }

    /// The current leader and its address, as far as this coordinator knows.
    pub fn leader(&self) -> Option<(u64, String)> {
        let m = self.inner.raft.metrics().borrow().clone();
        let id = m.current_leader?;
        let addr = m
            .membership_config
            .membership()
            .get_node(&id)
            .map(|n| n.addr.clone())?;
        Some((id, addr))
    }

    /// Whether this coordinator is the leader right now.
    pub fn is_leader(&self) -> bool {
        self.leader().is_some_and(|(id, _)| id == self.inner.id)
    }

    /// Commits `cmd` here, if this coordinator leads. Used for writes forwarded by peers.
    pub async fn write_local(&self, mut cmd: Command) -> Result<Committed, ForwardError> {
        // Times that must come from the leader's clock are set here, whoever formed the
        // command (see `Command::stamp_leader_clock`).
        cmd.stamp_leader_clock(crate::now_ms());
        // A leader cut off from its quorum never commits; answer rather than hang. The entry
        // may still commit later, or be discarded by a newer leader: the outcome is unknown.
        let written =
            match tokio::time::timeout(WRITE_TIMEOUT, self.inner.raft.client_write(cmd)).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(ForwardError::Failed(format!(
                    "not committed within {WRITE_TIMEOUT:?} (no quorum reachable?); outcome unknown"
                )))
                }
            };
        match written {
            Ok(resp) => Ok(Committed {
                response: resp.data,
                log_index: resp.log_id.index,
            }),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                Err(ForwardError::NotLeader {
                    leader: f.leader_id,
                    leader_addr: f.leader_node.map(|n| n.addr),
                })
            }
            Err(e) => Err(ForwardError::Failed(e.to_string())),
        }
    }

    /// Waits (bounded) until this coordinator has applied `index`, so a caller that wrote
    /// through the leader reads its own write here.
    async fn await_applied(&self, index: u64, deadline: tokio::time::Instant) {
        let left = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .max(Duration::from_secs(1));
        if let Err(e) = self
            .inner
            .raft
            .wait(Some(left))
            .applied_index_at_least(Some(index), "read your write")
            .await
        {
            tracing::warn!(index, error = %e, "write committed but not yet applied here");
        }
    }

    /// Commits `cmd` through the leader and returns the state machine's response once applied.
    pub async fn write(&self, cmd: Command) -> Result<CommandResponse, WriteError> {
        let started = tokio::time::Instant::now();
        let deadline = started + WRITE_TIMEOUT;
        let mut req = PeerRequest::ClientWrite(cmd);
        let mut last_leader = None;
        // How much of the wait the command's results have been aged by already.
        let mut aged_ms = 0u64;
        loop {
            if let PeerRequest::ClientWrite(cmd) = &mut req {
                let waited_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                cmd.age_by(waited_ms.saturating_sub(aged_ms));
                aged_ms = waited_ms;
            }
            match self.leader() {
                Some((id, _)) if id == self.inner.id => {
                    let PeerRequest::ClientWrite(cmd) = req else {
                        return Err(WriteError::Unavailable("internal: request changed".into()));
                    };
                    return match self.write_local(cmd).await {
                        Ok(c) => Ok(c.response),
                        Err(ForwardError::NotLeader { leader, .. }) => {
                            Err(WriteError::NotLeader { leader })
                        }
                        Err(ForwardError::Failed(e)) => Err(WriteError::Unavailable(e)),
                    };
                }
                Some((id, addr)) => {
                    last_leader = Some(id);
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    match self
                        .inner
                        .peers
                        .call(&addr, &req, left.max(Duration::from_millis(100)))
                        .await
                    {
                        Ok(PeerResponse::ClientWrite(Ok(c))) => {
                            self.await_applied(c.log_index, deadline).await;
                            return Ok(c.response);
                        }
                        Ok(PeerResponse::ClientWrite(Err(ForwardError::Failed(e)))) => {
                            return Err(WriteError::Unavailable(e))
                        }
                        Ok(other) => {
                            tracing::debug!(leader = id, answer = ?other, "forwarded write not taken; retrying")
                        }
                        // Never delivered: safe to try again.
                        Err(e @ CallError::Unreachable { .. }) => {
                            tracing::debug!(leader = id, error = %e, "leader unreachable; retrying")
                        }
                        // Delivered or not, we cannot tell: retrying could apply it twice.
                        Err(e) => {
                            return Err(WriteError::Unavailable(format!("outcome unknown: {e}")))
                        }
                    }
                }
                None => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(WriteError::NotLeader {
                    leader: last_leader,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
