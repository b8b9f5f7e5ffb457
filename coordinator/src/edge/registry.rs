//! Live edge sessions on this coordinator.
//!
//! One entry per node; a node that reconnects replaces its previous session, whose connection is
//! closed so two sessions of one node never feed results at the same time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use netpulse_engine::placement::LiveNode;

/// A live session.
#[derive(Clone)]
pub struct SessionEntry {
    /// Unique per session, to tell a replaced session from the current one.
    pub session_id: u64,
    /// Region of the node.
    pub region: String,
    /// The QUIC connection, closed when the session is replaced.
    pub connection: quinn::Connection,
}

/// Registry of live sessions; cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    inner: Arc<Mutex<HashMap<String, SessionEntry>>>,
    changed: watch::Sender<u64>,
}

impl Default for Sessions {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            changed: watch::channel(0).0,
        }
    }
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SessionEntry>> {
        // A poisoned lock only means another task panicked mid-update of a plain map.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a session, closing the node's previous one.
    pub fn insert(&self, node: &str, entry: SessionEntry) {
        let old = self.lock().insert(node.to_owned(), entry);
        if let Some(old) = old {
            old.connection
                .close(quinn::VarInt::from_u32(1), b"replaced by a newer session");
        }
        self.changed.send_modify(|v| *v += 1);
    }

    /// Removes the node's session if it is still `session_id`; true if it was removed.
    pub fn remove(&self, node: &str, session_id: u64) -> bool {
        let removed = {
            let mut map = self.lock();
            match map.get(node) {
                Some(e) if e.session_id == session_id => map.remove(node).is_some(),
                _ => false,
            }
        };
        if removed {
            self.changed.send_modify(|v| *v += 1);
        }
        removed
    }

    /// Nodes with a live session, for placement.
    pub fn live(&self) -> Vec<LiveNode> {
        let mut v: Vec<LiveNode> = self
            .lock()
            .iter()
            .map(|(id, e)| LiveNode {
                id: id.clone(),
                region: e.region.clone(),
            })
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// Notified whenever a session opens or closes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}
