//! Raft (openraft 0.9, storage v2) for the coordinator.
//!
//! - [`log_store`]: the Raft log, vote and committed index in sled, flushed before openraft is
//!   told an append or a vote is durable.
//! - [`state_machine`]: the adapter between openraft and [`crate::store::StateStore`], with
//!   snapshots for log compaction.
//! - [`network`]: how Raft RPCs reach other coordinators.
//!
//! Both stores live in the coordinator's single sled database, in separate trees.

// openraft's trait signatures fix `StorageError` (224 bytes) as the error type; our helpers
// return the same type rather than boxing and unboxing at every call.
#![allow(clippy::result_large_err)]

pub mod log_store;
pub mod network;
pub mod state_machine;

use netpulse_engine::command::{Command, CommandResponse};

openraft::declare_raft_types!(
    /// Types of NetPulse's Raft: commands in, command responses out, u64 node ids.
    pub TypeConfig:
        D = Command,
        R = CommandResponse,
        NodeId = u64,
        Node = openraft::BasicNode,
        SnapshotData = std::io::Cursor<Vec<u8>>,
);

/// The Raft handle used by the coordinator.
pub type Raft = openraft::Raft<TypeConfig>;

/// Storage error type for this config.
pub type StorageError = openraft::StorageError<u64>;

fn io_err(
    subject: openraft::ErrorSubject<u64>,
    verb: openraft::ErrorVerb,
    e: impl std::error::Error + 'static,
) -> StorageError {
    openraft::StorageIOError::new(subject, verb, openraft::AnyError::new(&e)).into()
}

#[cfg(test)]
mod suite_test {
    //! openraft's storage conformance suite against the sled log store and state machine.

    use openraft::testing::{StoreBuilder, Suite};

    use super::log_store::LogStore;
    use super::state_machine::StateMachine;
    use super::{StorageError, TypeConfig};
    use crate::store::StateStore;

    struct SledBuilder;

    impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for SledBuilder {
        async fn build(&self) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError> {
            let dir = tempfile::tempdir().expect("tempdir");
            let db = sled::open(dir.path()).expect("sled open");
            let log = LogStore::open(&db).expect("log store");
            let store = StateStore::open(&db).expect("state store");
            let sm = StateMachine::open(&db, store)?;
            Ok((dir, log, sm))
        }
    }

    #[test]
    fn openraft_storage_suite() -> Result<(), StorageError> {
        Suite::test_all(SledBuilder)?;
        Ok(())
    }
}
