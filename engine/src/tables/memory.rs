//! Tables in memory, for tests and simulation.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, PoisonError, RwLock};

use super::{Batch, Row, Rows, StorageError, Table, Tables, Write};

type Map = BTreeMap<(Table, Vec<u8>), Vec<u8>>;

/// [`Tables`] in a `BTreeMap`. Clones share the same tables.
///
/// A commit takes the write lock once for the whole batch, so readers see a command whole, as
/// they do on disk.
#[derive(Debug, Clone, Default)]
pub struct MemTables {
    rows: Arc<RwLock<Map>>,
}

impl MemTables {
    /// Empty tables.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Map> {
        // Every write is one `commit` that cannot panic half-way: a poisoned lock still
        // guards whole batches.
        self.rows.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Tables for MemTables {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.read().get(&(table, key.to_vec())).cloned())
    }

    fn range(&self, table: Table, lo: Bound<&[u8]>, hi: Bound<&[u8]>, reverse: bool) -> Rows<'_> {
        let bound = |b: Bound<&[u8]>, open_end: Bound<(Table, Vec<u8>)>| match b {
            Bound::Included(k) => Bound::Included((table, k.to_vec())),
            Bound::Excluded(k) => Bound::Excluded((table, k.to_vec())),
            Bound::Unbounded => open_end,
        };
        let lo = bound(lo, Bound::Included((table, Vec::new())));
        let hi = bound(hi, Bound::Unbounded);
        // Copied out: an iterator holding the lock would block every commit behind a reader.
        let rows: Vec<Row> = self
            .read()
            .range((lo, hi))
            .take_while(|((t, _), _)| *t == table)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect();
        if reverse {
            Box::new(rows.into_iter().rev().map(Ok))
        } else {
            Box::new(rows.into_iter().map(Ok))
        }
    }

    fn commit(&self, batch: Batch) -> Result<(), StorageError> {
        let (cleared, writes) = batch.into_writes();
        let mut rows = self.rows.write().unwrap_or_else(PoisonError::into_inner);
        if !cleared.is_empty() {
            rows.retain(|(t, _), _| !cleared.contains(t));
        }
        for (key, write) in writes {
            match write {
                Write::Put(v) => {
                    rows.insert(key, v);
                }
                Write::Delete => {
                    rows.remove(&key);
                }
            }
        }
        Ok(())
    }
}
