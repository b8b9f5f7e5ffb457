//! The storage seam: the ordered key-value tables the state machine reads and writes.
//!
//! The engine never names a storage engine. It reads through [`Tables`] and hands each command's
//! writes back as one [`Batch`], which an implementation must commit atomically: a reader sees a
//! command's effects whole or not at all. [`MemTables`] serves tests and simulation; the
//! coordinator implements [`Tables`] over sled.
//!
//! This is the adapter style openraft uses for its log and state machine: a small trait the
//! core is written against, with each runtime bringing its own implementation.

mod batch;
mod memory;

use std::ops::Bound;

pub use batch::{Batch, Write, Writes};
pub use memory::MemTables;

/// A storage failure, kept whole for the log.
///
/// Boxed because the engine cannot name an implementation's error type without depending on
/// it; the source chain is kept, so the cause still reaches the operator.
#[derive(Debug, thiserror::Error)]
#[error("storage failed")]
pub struct StorageError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl StorageError {
    /// Wraps an implementation's error.
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Box::new(e))
    }
}

/// One stored row: key and value.
pub type Row = (Vec<u8>, Vec<u8>);

/// Rows in key order (or reverse), read lazily: a scan that stops early reads no more.
pub type Rows<'a> = Box<dyn Iterator<Item = Result<Row, StorageError>> + 'a>;

/// Ordered key-value tables.
///
/// Keys order bytewise. Reads see every committed batch; `commit` is atomic per batch (all of
/// its writes or none, also across a crash) and is called by one writer at a time.
pub trait Tables: Send + Sync {
    /// The value under `key`.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;

    /// Rows with keys in `(lo, hi)`, ascending, or descending when `reverse`.
    fn range(&self, table: Table, lo: Bound<&[u8]>, hi: Bound<&[u8]>, reverse: bool) -> Rows<'_>;

    /// Applies every write of `batch`, atomically.
    fn commit(&self, batch: Batch) -> Result<(), StorageError>;
}

macro_rules! tables {
    ($($(#[$doc:meta])* $variant:ident = $id:literal, $name:literal;)*) => {
        /// A table of the state machine.
        ///
        /// The id is the table's place in storage and the name its name in snapshots; both
        /// are on disk or on the wire, so neither may change or be reused.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Table {
            $($(#[$doc])* $variant,)*
        }

        impl Table {
            /// Every table.
            pub const ALL: &'static [Table] = &[$(Table::$variant,)*];

            /// The byte that prefixes this table's keys in single-keyspace storage.
            pub fn id(self) -> u8 {
                match self {
                    $(Table::$variant => $id,)*
                }
            }

            /// The name in snapshots (the sled tree name of coordinators before tables).
            pub fn name(self) -> &'static str {
                match self {
                    $(Table::$variant => $name,)*
                }
            }

            /// The table with this snapshot name.
            pub fn from_name(name: &str) -> Option<Table> {
                match name {
                    $($name => Some(Table::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

tables! {
    /// Monitors by id (JSON).
    Monitors = 1, "sm_monitors";
    /// Edge nodes by id (JSON).
    Nodes = 2, "sm_nodes";
    /// Join tokens by id (JSON).
    Tokens = 3, "sm_tokens";
    /// API keys by id (JSON).
    Keys = 4, "sm_keys";
    /// Results by monitor, time, node, sequence (postcard).
    Results = 5, "sm_results";
    /// Newest result per monitor and region (JSON).
    Latest = 6, "sm_latest";
    /// Highest committed sequence per node (u64 big-endian).
    NodeSeq = 7, "sm_node_seq";
    /// Counters and singletons.
    Meta = 8, "sm_meta";
    /// Which node runs which monitor: `node \0 monitor`, empty values.
    Placement = 9, "sm_placement";
    /// Per region vote tracks of each monitor (JSON).
    Votes = 10, "sm_votes";
    /// Decided health per monitor (JSON).
    Health = 11, "sm_health";
    /// Monitors whose regions report a mesh problem.
    Mesh = 12, "sm_mesh";
    /// Incidents by number (JSON).
    Incidents = 13, "sm_incidents";
    /// Open incidents: number to id.
    OpenIncidents = 14, "sm_open_incidents";
    /// Alert channels by id (JSON, secrets sealed).
    Channels = 15, "sm_channels";
    /// Notifications by id (JSON).
    Notifications = 16, "sm_notifications";
    /// Notifications waiting for delivery: id to due time.
    Pending = 17, "sm_pending";
    /// Maintenance windows by id (JSON).
    Maintenance = 18, "sm_maintenance";
    /// When each monitor must next be decided: time, monitor.
    Deadlines = 19, "sm_deadlines";
    /// Ingest statistics per node (JSON).
    NodeIngest = 20, "sm_node_ingest";
    /// Monitor ids by name: `name \0 id`, empty values.
    MonitorNames = 21, "sm_monitor_names";
    /// Decided-state change points: `monitor \0 start (order-preserving)`, one state byte.
    Timeline = 22, "sm_timeline";
    /// Rollup buckets: `monitor \0 resolution start (order-preserving) region` (postcard).
    Rollups = 23, "sm_rollups";
    /// Public status pages by id (JSON).
    StatusPages = 24, "sm_status_pages";
}

impl Table {
    /// Whether the table is an index rebuilt from others. Snapshots leave such tables out
    /// (the member installing one rebuilds them), so a member of the version before an index
    /// existed can still install a snapshot of a newer one.
    pub fn is_derived(self) -> bool {
        matches!(self, Table::MonitorNames)
    }
}

#[cfg(test)]
mod tests {
    use super::Table;

    #[test]
    fn ids_and_names_are_unique_and_round_trip() {
        let mut ids: Vec<u8> = Table::ALL.iter().map(|t| t.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), Table::ALL.len());
        for t in Table::ALL {
            assert_eq!(Table::from_name(t.name()), Some(*t));
        }
    }
}
