//! How the state machine reads and writes its tables while a command applies.
//!
//! Writes go into the command's [`Batch`], which is committed whole when the command is done;
//! reads look in that batch first, so a command sees its own writes (read-your-writes) while
//! every other reader sees the tables as of the last committed command.

use std::cmp::Ordering;
use std::iter::Peekable;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{Changed, State, StateError};
use crate::tables::{Batch, Row, Rows, StorageError, Table, Tables, Write};

/// The command being applied: its writes so far and what they changed.
#[derive(Default)]
pub(super) struct Tx {
    pub(super) batch: Mutex<Batch>,
    pub(super) changed: Mutex<Changed>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; if something did, the batch is dropped with
    // the failed command anyway.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One table of a [`State`], read through the running command's writes.
pub(crate) struct Handle<'a, T> {
    state: &'a State<T>,
    table: Table,
}

impl<T: Tables> State<T> {
    /// `table`, as this command sees it.
    pub(crate) fn table(&self, table: Table) -> Handle<'_, T> {
        Handle { state: self, table }
    }
}

impl<'a, T: Tables> Handle<'a, T> {
    /// The value under `key`.
    pub(crate) fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>, StorageError> {
        let key = key.as_ref();
        if let Some(tx) = &self.state.tx {
            let batch = lock(&tx.batch);
            match batch.write(self.table, key) {
                Some(Write::Put(v)) => return Ok(Some(v.clone())),
                Some(Write::Delete) => return Ok(None),
                None if batch.clears(self.table) => return Ok(None),
                None => {}
            }
        }
        self.state.tables.get(self.table, key)
    }

    /// Whether `key` has a value.
    pub(crate) fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool, StorageError> {
        Ok(self.get(key)?.is_some())
    }

    /// Stores `value` under `key`.
    pub(crate) fn insert(
        &self,
        key: impl AsRef<[u8]>,
        value: impl Into<Vec<u8>>,
    ) -> Result<(), StorageError> {
        self.write(key.as_ref(), Write::Put(value.into()))
    }

    /// Removes `key`, returning the value it had.
    pub(crate) fn remove(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>, StorageError> {
        let key = key.as_ref();
        let old = self.get(key)?;
        if old.is_some() {
            self.write(key, Write::Delete)?;
        }
        Ok(old)
    }

    /// Removes `key` without reading it first (pruning knows the key exists).
    pub(crate) fn delete(&self, key: impl AsRef<[u8]>) -> Result<(), StorageError> {
        self.write(key.as_ref(), Write::Delete)
    }

    /// Removes every key that starts with `prefix`.
    pub(crate) fn remove_prefix(&self, prefix: &[u8]) -> Result<(), StateError> {
        // Collected first: the scan reads the batch the removals go into.
        let keys = self
            .scan_prefix(prefix)
            .keys()
            .collect::<Result<Vec<_>, _>>()?;
        for k in keys {
            self.write(&k, Write::Delete)?;
        }
        Ok(())
    }

    fn write(&self, key: &[u8], write: Write) -> Result<(), StorageError> {
        match &self.state.tx {
            Some(tx) => {
                let mut batch = lock(&tx.batch);
                match write {
                    Write::Put(v) => batch.put(self.table, key, v),
                    Write::Delete => batch.delete(self.table, key),
                }
                Ok(())
            }
            // Outside a command (upgrading the layout on open) every write stands alone.
            None => {
                let mut batch = Batch::default();
                match write {
                    Write::Put(v) => batch.put(self.table, key, v),
                    Write::Delete => batch.delete(self.table, key),
                }
                self.state.tables.commit(batch)
            }
        }
    }

    /// Whether the table holds no key.
    pub(crate) fn is_empty(&self) -> Result<bool, StorageError> {
        Ok(self.iter().next().transpose()?.is_none())
    }

    /// Every row, in key order.
    pub(crate) fn iter(&self) -> Scan<'a> {
        self.scan(Bound::Unbounded, Bound::Unbounded, false)
    }

    /// Rows whose key starts with `prefix`, in key order.
    pub(crate) fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Scan<'a> {
        let prefix = prefix.as_ref();
        match prefix_end(prefix) {
            Some(end) => self.scan(
                Bound::Included(prefix),
                Bound::Excluded(end.as_slice()),
                false,
            ),
            None => self.scan(Bound::Included(prefix), Bound::Unbounded, false),
        }
    }

    /// Rows with keys between `lo` and `hi`, ascending or descending.
    pub(crate) fn scan(&self, lo: Bound<&[u8]>, hi: Bound<&[u8]>, reverse: bool) -> Scan<'a> {
        let mut pending = Vec::new();
        let mut cleared = false;
        if let Some(tx) = &self.state.tx {
            let batch = lock(&tx.batch);
            cleared = batch.clears(self.table);
            // Copied: the command may write while it walks the scan.
            pending = batch
                .writes_in(self.table)
                .filter(|(k, _)| (lo, hi).contains(k))
                .map(|(k, w)| (k.to_vec(), w.clone()))
                .collect();
            if reverse {
                pending.reverse();
            }
        }
        let base: Rows<'a> = if cleared {
            Box::new(std::iter::empty())
        } else {
            self.state.tables.range(self.table, lo, hi, reverse)
        };
        Scan {
            base: base.peekable(),
            pending: pending.into_iter().peekable(),
            reverse,
        }
    }
}

/// Whether a byte-string range contains a key (a `RangeBounds` over `[u8]` slices).
trait ContainsKey {
    fn contains(&self, key: &[u8]) -> bool;
}

impl ContainsKey for (Bound<&[u8]>, Bound<&[u8]>) {
    fn contains(&self, key: &[u8]) -> bool {
        let above = match self.0 {
            Bound::Included(lo) => key >= lo,
            Bound::Excluded(lo) => key > lo,
            Bound::Unbounded => true,
        };
        let below = match self.1 {
            Bound::Included(hi) => key <= hi,
            Bound::Excluded(hi) => key < hi,
            Bound::Unbounded => true,
        };
        above && below
    }
}

/// The first key after every key starting with `prefix`, or `None` when there is none
/// (`prefix` is all `0xff`).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Committed rows merged with the running command's writes to them.
pub(crate) struct Scan<'a> {
    base: Peekable<Rows<'a>>,
    pending: Peekable<std::vec::IntoIter<(Vec<u8>, Write)>>,
    reverse: bool,
}

impl<'a> Scan<'a> {
    /// Just the keys.
    pub(crate) fn keys(self) -> impl Iterator<Item = Result<Vec<u8>, StorageError>> + 'a {
        self.map(|r| r.map(|(k, _)| k))
    }

    /// Just the values.
    pub(crate) fn values(self) -> impl Iterator<Item = Result<Vec<u8>, StorageError>> + 'a {
        self.map(|r| r.map(|(_, v)| v))
    }
}

impl Iterator for Scan<'_> {
    type Item = Result<Row, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let order = match (self.base.peek(), self.pending.peek()) {
                (None, None) => return None,
                (Some(Err(_)), _) | (Some(_), None) => return self.base.next(),
                (None, Some(_)) => Ordering::Greater,
                (Some(Ok((base, _))), Some((mine, _))) => {
                    let o = base.cmp(mine);
                    if self.reverse {
                        o.reverse()
                    } else {
                        o
                    }
                }
            };
            match order {
                Ordering::Less => return self.base.next(),
                // The command's write replaces the committed row.
                Ordering::Equal => {
                    self.base.next();
                }
                Ordering::Greater => {}
            }
            match self.pending.next()? {
                (k, Write::Put(v)) => return Some(Ok((k, v))),
                (_, Write::Delete) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ops::Bound;

    use super::{prefix_end, Tx};
    use crate::state::State;
    use crate::tables::{Batch, MemTables, Table, Tables};

    fn committed(rows: &[(&str, &str)]) -> State<MemTables> {
        let tables = MemTables::new();
        let mut batch = Batch::default();
        for (k, v) in rows {
            batch.put(Table::Tokens, k.as_bytes(), v.as_bytes());
        }
        tables.commit(batch).expect("commit");
        State::open(tables).expect("open")
    }

    fn applying(s: &State<MemTables>) -> State<MemTables> {
        let mut a = s.clone();
        a.tx = Some(Tx::default());
        a
    }

    fn rows(scan: super::Scan<'_>) -> Vec<(String, String)> {
        scan.map(|r| {
            let (k, v) = r.expect("row");
            (
                String::from_utf8(k).expect("utf8"),
                String::from_utf8(v).expect("utf8"),
            )
        })
        .collect()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_command_reads_its_own_writes_and_others_do_not() {
        let s = committed(&[("a", "1"), ("c", "3"), ("e", "5")]);
        let a = applying(&s);
        let t = a.table(Table::Tokens);
        t.insert("b", b"2".to_vec()).expect("put");
        t.insert("c", b"33".to_vec()).expect("put");
        t.remove("e").expect("delete");
        assert_eq!(t.get("c").expect("get"), Some(b"33".to_vec()));
        assert_eq!(t.get("e").expect("get"), None);
        assert_eq!(
            rows(t.iter()),
            pairs(&[("a", "1"), ("b", "2"), ("c", "33")])
        );
        assert_eq!(
            rows(t.scan(Bound::Unbounded, Bound::Unbounded, true)),
            pairs(&[("c", "33"), ("b", "2"), ("a", "1")])
        );
        assert_eq!(
            rows(t.scan(Bound::Excluded(b"a"), Bound::Excluded(b"c"), false)),
            pairs(&[("b", "2")])
        );
        // The committed state is untouched until the command commits.
        assert_eq!(
            rows(s.table(Table::Tokens).iter()),
            pairs(&[("a", "1"), ("c", "3"), ("e", "5")])
        );
    }

    #[test]
    fn a_cleared_table_hides_every_committed_row() {
        let s = committed(&[("a", "1"), ("b", "2")]);
        let mut batch = Batch::default();
        batch.clear(Table::Tokens);
        batch.put(Table::Tokens, b"z".to_vec(), b"26".to_vec());
        let (_, _) = s
            .transaction(batch, |a| {
                let t = a.table(Table::Tokens);
                assert_eq!(t.get("a").expect("get"), None);
                assert_eq!(rows(t.iter()), pairs(&[("z", "26")]));
                Ok(())
            })
            .expect("commit");
        assert_eq!(rows(s.table(Table::Tokens).iter()), pairs(&[("z", "26")]));
    }

    #[test]
    fn prefix_scans_and_prefix_removal_stay_inside_the_prefix() {
        let s = committed(&[("m1\0a", "x"), ("m1\0b", "y"), ("m10\0a", "z"), ("m2", "w")]);
        let a = applying(&s);
        let t = a.table(Table::Tokens);
        assert_eq!(t.scan_prefix(b"m1\0").count(), 2);
        t.remove_prefix(b"m1\0").expect("remove");
        assert_eq!(rows(t.iter()), pairs(&[("m10\0a", "z"), ("m2", "w")]));
    }

    #[test]
    fn prefix_end_carries() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(b""), None);
    }
}
