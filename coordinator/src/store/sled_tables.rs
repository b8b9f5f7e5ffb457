//! The engine's tables in sled: one tree, each key prefixed with its table's id.
//!
//! One tree because sled commits a batch atomically only within a tree: with a tree per
//! table, a command that wrote results, latest, votes and health landed tree by tree, and a
//! reader (or a crash) could see half of it. Coordinators before this kept a tree per table
//! (`sm_monitors`, ...); [`SledTables::open`] moves their rows into the single tree once.

use std::ops::Bound;

use netpulse_engine::tables::{Batch, Rows, StorageError, Table, Tables, Write};

/// The tree holding every table.
const TREE: &str = "sm_state";

/// Rows moved per batch when converting the old layout: bounds memory at any state size.
const MIGRATE_CHUNK: usize = 10_000;

/// [`Tables`] over one sled tree.
#[derive(Clone)]
pub struct SledTables {
    tree: sled::Tree,
}

fn key(table: Table, k: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(k.len() + 1);
    out.push(table.id());
    out.extend_from_slice(k);
    out
}

impl SledTables {
    /// Opens the state tree in `db`, first moving in the rows of a tree-per-table layout.
    pub fn open(db: &sled::Db) -> Result<Self, sled::Error> {
        let tree = db.open_tree(TREE)?;
        let names = db.tree_names();
        for table in Table::ALL {
            if !names.iter().any(|n| n.as_ref() == table.name().as_bytes()) {
                continue;
            }
            let old = db.open_tree(table.name())?;
            let mut batch = sled::Batch::default();
            let mut n = 0;
            for kv in old.iter() {
                let (k, v) = kv?;
                batch.insert(key(*table, &k), v);
                n += 1;
                if n % MIGRATE_CHUNK == 0 {
                    tree.apply_batch(std::mem::take(&mut batch))?;
                }
            }
            tree.apply_batch(batch)?;
            // Copied rows must be on disk before their only other copy goes; a crash before
            // the drop copies the same rows again.
            db.flush()?;
            db.drop_tree(table.name())?;
            tracing::info!(table = table.name(), rows = n, "moved into the state tree");
        }
        Ok(Self { tree })
    }
}

impl Tables for SledTables {
    fn get(&self, table: Table, k: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.tree
            .get(key(table, k))
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(StorageError::new)
    }

    fn range(&self, table: Table, lo: Bound<&[u8]>, hi: Bound<&[u8]>, reverse: bool) -> Rows<'_> {
        let lo = match lo {
            Bound::Included(k) => Bound::Included(key(table, k)),
            Bound::Excluded(k) => Bound::Excluded(key(table, k)),
            Bound::Unbounded => Bound::Included(vec![table.id()]),
        };
        let hi = match hi {
            Bound::Included(k) => Bound::Included(key(table, k)),
            Bound::Excluded(k) => Bound::Excluded(key(table, k)),
            // Ids stay below 255 (see `Table`), so the next id bounds the table.
            Bound::Unbounded => Bound::Excluded(vec![table.id() + 1]),
        };
        let rows = self.tree.range((lo, hi));
        let strip = |kv: Result<(sled::IVec, sled::IVec), sled::Error>| match kv {
            Ok((k, v)) => Ok((k[1..].to_vec(), v.to_vec())),
            Err(e) => Err(StorageError::new(e)),
        };
        if reverse {
            Box::new(rows.rev().map(strip))
        } else {
            Box::new(rows.map(strip))
        }
    }

    fn commit(&self, batch: Batch) -> Result<(), StorageError> {
        let mut out = sled::Batch::default();
        // A sled batch keeps the last write per key: clearing first, then the writes.
        for table in batch.cleared() {
            for k in self.tree.scan_prefix([table.id()]).keys() {
                out.remove(k.map_err(StorageError::new)?);
            }
        }
        let (_, writes) = batch.into_writes();
        for ((table, k), write) in writes {
            match write {
                Write::Put(v) => out.insert(key(table, &k), v),
                Write::Delete => out.remove(key(table, &k)),
            }
        }
        self.tree.apply_batch(out).map_err(StorageError::new)
    }
}

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
