//! One command's writes, committed as a unit.

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use super::Table;

/// What a batch does to one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Store this value.
    Put(Vec<u8>),
    /// Remove the key.
    Delete,
}

/// A batch's key writes, by table and key.
pub type Writes = BTreeMap<(Table, Vec<u8>), Write>;

/// Writes to commit atomically: first every table in `cleared` is emptied, then each key gets
/// its last write.
///
/// Keyed by table and key, so a later write to a key replaces an earlier one and the batch
/// doubles as the read-your-writes overlay while a command applies.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    cleared: BTreeSet<Table>,
    writes: Writes,
}

impl Batch {
    /// Stores `value` under `key`.
    pub fn put(&mut self, table: Table, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.writes
            .insert((table, key.into()), Write::Put(value.into()));
    }

    /// Removes `key`.
    pub fn delete(&mut self, table: Table, key: impl Into<Vec<u8>>) {
        self.writes.insert((table, key.into()), Write::Delete);
    }

    /// Empties `table` before this batch's writes apply (a snapshot being installed).
    pub fn clear(&mut self, table: Table) {
        self.writes.retain(|(t, _), _| *t != table);
        self.cleared.insert(table);
    }

    /// True when committing would change nothing.
    pub fn is_empty(&self) -> bool {
        self.cleared.is_empty() && self.writes.is_empty()
    }

    /// Number of key writes (not counting cleared tables).
    pub fn len(&self) -> usize {
        self.writes.len()
    }

    /// Whether `table` is emptied first.
    pub fn clears(&self, table: Table) -> bool {
        self.cleared.contains(&table)
    }

    /// The tables emptied first.
    pub fn cleared(&self) -> impl Iterator<Item = Table> + '_ {
        self.cleared.iter().copied()
    }

    /// This batch's write to `key`, if any.
    pub fn write(&self, table: Table, key: &[u8]) -> Option<&Write> {
        self.writes.get(&(table, key.to_vec()))
    }

    /// This batch's writes to `table`, in key order.
    pub fn writes_in(&self, table: Table) -> impl Iterator<Item = (&[u8], &Write)> + '_ {
        self.writes
            .range((table, Vec::new())..)
            .take_while(move |((t, _), _)| *t == table)
            .map(|((_, k), w)| (k.as_slice(), w))
    }

    /// Every write, by table and key.
    pub fn into_writes(self) -> (BTreeSet<Table>, Writes) {
        (self.cleared, self.writes)
    }
}
