//! What every part of a running coordinator shares: its id, the state, Raft, the CA and the
//! live edge sessions.

use std::sync::Arc;

use netpulse_protocol::identity::ClusterCa;
use openraft::error::{ClientWriteError, RaftError};

use crate::edge::registry::Sessions;
use crate::raft::Raft;
use crate::state::command::{Command, CommandResponse};
use crate::state::StateStore;

/// Why a write did not commit.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// This coordinator is not the leader (and forwarding is not available).
    #[error("not the leader{}", leader.map(|l| format!(" (leader is {l})")).unwrap_or_default())]
    NotLeader { leader: Option<u64> },
    /// Raft is shutting down or failed.
    #[error("consensus unavailable: {0}")]
    Unavailable(String),
}

/// Shared handle to a running coordinator.
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    store: StateStore,
    raft: Raft,
    ca: ClusterCa,
    sessions: Sessions,
}

impl Context {
    /// Bundles the parts of a coordinator.
    pub fn new(id: u64, store: StateStore, raft: Raft, ca: ClusterCa, sessions: Sessions) -> Self {
        Self { inner: Arc::new(Inner { id, store, raft, ca, sessions }) }
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

    /// Commits `cmd` and returns the state machine's response once applied here.
    pub async fn write(&self, cmd: Command) -> Result<CommandResponse, WriteError> {
        match self.inner.raft.client_write(cmd).await {
            Ok(resp) => Ok(resp.data),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                Err(WriteError::NotLeader { leader: f.leader_id })
            }
            Err(e) => Err(WriteError::Unavailable(e.to_string())),
        }
    }
}
