//! openraft's state machine over [`StateStore`].
//!
//! The last applied log id and membership are written next to the data (tree `sm_raft`), so a
//! restart resumes where applying stopped. Snapshots are a dump of the application trees taken on
//! the state machine task, so a snapshot and its `last_applied` always agree.
//!
//! A snapshot is not stored: the state machine's own trees are the snapshot. Building one only
//! makes sure those trees are on disk (so the log under it may be purged), and whenever openraft
//! asks for the current snapshot (to send it to a member that fell behind the purged log, or at
//! startup) it gets a dump of the state as applied now, which is newer than the last one built
//! and covered by the log that is kept. Storing each dump kept a second copy of the whole state
//! in sled, rewritten at every compaction: about half the coordinator's disk at 20,000 monitors.

use std::io::Cursor;

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    Entry, EntryPayload, ErrorSubject, ErrorVerb, LogId, OptionalSend, RaftSnapshotBuilder,
    SnapshotMeta, StoredMembership,
};
use serde::{Deserialize, Serialize};

use super::{io_err, StorageError, TypeConfig};
use crate::store::StateStore;
use netpulse_engine::command::CommandResponse;

const APPLIED: &[u8] = b"applied";
/// Where versions before 0.x stored the last snapshot; removed on open.
const LEGACY_SNAPSHOT: &[u8] = b"snapshot";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Applied {
    last_applied: Option<LogId<u64>>,
    membership: StoredMembership<u64, openraft::BasicNode>,
}

/// The Raft state machine of a coordinator.
pub struct StateMachine {
    store: StateStore,
    raft_tree: sled::Tree,
    applied: Applied,
}

impl StateMachine {
    /// Opens the state machine over `store`, reading where applying stopped.
    pub fn open(db: &sled::Db, store: StateStore) -> Result<Self, StorageError> {
        let raft_tree = db
            .open_tree("sm_raft")
            .map_err(|e| io_err(ErrorSubject::StateMachine, ErrorVerb::Read, e))?;
        let applied = match raft_tree
            .get(APPLIED)
            .map_err(|e| io_err(ErrorSubject::StateMachine, ErrorVerb::Read, e))?
        {
            Some(v) => serde_json::from_slice(&v)
                .map_err(|e| io_err(ErrorSubject::StateMachine, ErrorVerb::Read, e))?,
            None => Applied::default(),
        };
        // The state itself is the snapshot now (see the module doc): drop the stored copy.
        raft_tree
            .remove(LEGACY_SNAPSHOT)
            .map_err(|e| io_err(ErrorSubject::StateMachine, ErrorVerb::Write, e))?;
        Ok(Self {
            store,
            raft_tree,
            applied,
        })
    }

    fn save_applied(&self) -> Result<(), StorageError> {
        let bytes = serde_json::to_vec(&self.applied)
            .map_err(|e| io_err(ErrorSubject::StateMachine, ErrorVerb::Write, e))?;
        self.raft_tree
            .insert(APPLIED, bytes)
            .map_err(|e| io_err(ErrorSubject::StateMachine, ErrorVerb::Write, e))?;
        Ok(())
    }

    /// The meta of a snapshot of the state as applied now. The id names the log position:
    /// applying is deterministic, so any two snapshots at one position hold the same state.
    fn meta(&self) -> SnapshotMeta<u64, openraft::BasicNode> {
        let snapshot_id = match self.applied.last_applied {
            Some(l) => format!("{}-{}-{}", l.leader_id.term, l.leader_id.node_id, l.index),
            None => "empty".to_owned(),
        };
        SnapshotMeta {
            last_log_id: self.applied.last_applied,
            last_membership: self.applied.membership.clone(),
            snapshot_id,
        }
    }
}

/// "Builds" a snapshot: makes the state it covers durable.
///
/// openraft keeps only the built snapshot's meta (it decides which log may be purged); the
/// data it sends to a member comes from [`StateMachine::get_current_snapshot`]. So nothing is
/// dumped here: dumping the whole state at every compaction cost a full copy in memory (100 MB
/// at 100,000 monitors) that the allocator then kept.
pub struct SnapshotBuilder {
    meta: SnapshotMeta<u64, openraft::BasicNode>,
    store: StateStore,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        // The state the snapshot covers must be on disk before the log under it may be purged.
        self.store
            .flush()
            .await
            .map_err(|e| io_err(ErrorSubject::StateMachine, ErrorVerb::Write, e))?;
        Ok(Snapshot {
            meta: self.meta.clone(),
            snapshot: Box::new(Cursor::new(Vec::new())),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<
        (
            Option<LogId<u64>>,
            StoredMembership<u64, openraft::BasicNode>,
        ),
        StorageError,
    > {
        Ok((self.applied.last_applied, self.applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<CommandResponse>, StorageError>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut out = Vec::new();
        for entry in entries {
            self.applied.last_applied = Some(entry.log_id);
            let resp = match entry.payload {
                EntryPayload::Blank => CommandResponse::Ok,
                EntryPayload::Normal(cmd) => self
                    .store
                    .apply(&cmd, entry.log_id.index)
                    .map_err(|e| io_err(ErrorSubject::Apply(entry.log_id), ErrorVerb::Write, e))?,
                EntryPayload::Membership(m) => {
                    self.applied.membership = StoredMembership::new(Some(entry.log_id), m);
                    CommandResponse::Ok
                }
            };
            out.push(resp);
        }
        self.save_applied()?;
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            meta: self.meta(),
            store: self.store.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, openraft::BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        let subject = ErrorSubject::Snapshot(Some(meta.signature()));
        self.store
            .import(&data)
            .map_err(|e| io_err(subject.clone(), ErrorVerb::Write, e))?;
        self.applied = Applied {
            last_applied: meta.last_log_id,
            membership: meta.last_membership.clone(),
        };
        self.save_applied()?;
        self.store
            .flush()
            .await
            .map_err(|e| io_err(subject, ErrorVerb::Write, e))?;
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        if self.applied.last_applied.is_none() {
            return Ok(None);
        }
        // openraft may purge the log under any snapshot it learns of (at startup, after
        // re-applying the log, the state is not yet flushed): make the state durable first.
        self.store
            .flush()
            .await
            .map_err(|e| io_err(ErrorSubject::Snapshot(None), ErrorVerb::Write, e))?;
        let data = self
            .store
            .export()
            .map_err(|e| io_err(ErrorSubject::Snapshot(None), ErrorVerb::Read, e))?;
        Ok(Some(Snapshot {
            meta: self.meta(),
            snapshot: Box::new(Cursor::new(data)),
        }))
    }
}
