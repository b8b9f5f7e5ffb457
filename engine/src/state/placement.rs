//! The committed placement, one key per placed monitor: `node \0 monitor`, empty value.
//!
//! A node's set used to be one JSON list, rewritten whole (in the state and in the Raft log)
//! whenever one monitor moved: at 100,000 monitors every monitor written made a multi-megabyte
//! entry. Keys per pair make a change cost what changed. Records in the old shape (key `node`,
//! a JSON list) are converted when the store opens and after a snapshot is installed.

use std::collections::{BTreeMap, BTreeSet};

use super::{from_json, State, StateError};
use crate::tables::{Table, Tables};

fn key(node: &str, monitor: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(node.len() + monitor.len() + 1);
    k.extend_from_slice(node.as_bytes());
    k.push(0);
    k.extend_from_slice(monitor.as_bytes());
    k
}

fn node_prefix(node: &str) -> Vec<u8> {
    key(node, "")
}

impl<T: Tables + Clone> State<T> {
    /// The committed placement: monitor ids per node, both in order.
    pub fn placement(&self) -> Result<BTreeMap<String, Vec<String>>, StateError> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for k in self.table(Table::Placement).iter().keys() {
            let k = k?;
            let (node, monitor) = split(&k)?;
            out.entry(node).or_default().push(monitor);
        }
        Ok(out)
    }

    /// The monitors placed on `node`, in order.
    pub fn placement_of(&self, node: &str) -> Result<BTreeSet<String>, StateError> {
        let mut out = BTreeSet::new();
        for k in self
            .table(Table::Placement)
            .scan_prefix(node_prefix(node))
            .keys()
        {
            out.insert(split(&k?)?.1);
        }
        Ok(out)
    }

    /// Whether `monitor` is placed on `node`.
    pub fn is_placed(&self, node: &str, monitor: &str) -> Result<bool, StateError> {
        Ok(self
            .table(Table::Placement)
            .contains_key(key(node, monitor))?)
    }

    /// Applies removals, then additions, in one batch.
    pub(super) fn move_placement(
        &self,
        remove: &[(String, Vec<String>)],
        add: &[(String, Vec<String>)],
    ) -> Result<(), StateError> {
        let table = self.table(Table::Placement);
        for (node, monitors) in remove {
            for m in monitors {
                table.remove(key(node, m))?;
            }
        }
        for (node, monitors) in add {
            for m in monitors {
                table.insert(key(node, m), Vec::new())?;
            }
        }
        self.note(|c| {
            c.placement
                .extend(remove.iter().chain(add).map(|(n, _)| n.clone()))
        });
        Ok(())
    }

    /// Replaces the full sets of the listed nodes (the legacy `SetPlacement`).
    pub(super) fn set_placement(
        &self,
        changes: &[(String, Vec<String>)],
    ) -> Result<(), StateError> {
        let table = self.table(Table::Placement);
        for (node, monitors) in changes {
            table.remove_prefix(&node_prefix(node))?;
            for m in monitors {
                table.insert(key(node, m), Vec::new())?;
            }
        }
        self.note(|c| c.placement.extend(changes.iter().map(|(n, _)| n.clone())));
        Ok(())
    }

    /// Converts records of the old shape (key `node`, value a JSON list of monitor ids).
    pub(super) fn upgrade_placement(&self) -> Result<(), StateError> {
        let table = self.table(Table::Placement);
        let old = table
            .iter()
            .filter(|kv| !matches!(kv, Ok((k, _)) if k.contains(&0)))
            .collect::<Result<Vec<_>, _>>()?;
        for (k, v) in &old {
            let node = String::from_utf8_lossy(k).into_owned();
            let monitors: Vec<String> = from_json("sm_placement", v)?;
            table.remove(k)?;
            for m in monitors {
                table.insert(key(&node, &m), Vec::new())?;
            }
        }
        if !old.is_empty() {
            self.note(|c| c.everything = true);
        }
        Ok(())
    }
}

fn split(k: &[u8]) -> Result<(String, String), StateError> {
    let corrupt = || StateError::Corrupt {
        tree: "sm_placement",
        detail: String::from_utf8_lossy(k).into_owned(),
    };
    let at = k.iter().position(|b| *b == 0).ok_or_else(corrupt)?;
    let node = std::str::from_utf8(&k[..at]).map_err(|_| corrupt())?;
    let monitor = std::str::from_utf8(&k[at + 1..]).map_err(|_| corrupt())?;
    Ok((node.to_owned(), monitor.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::MemTables;

    fn store() -> State<MemTables> {
        State::open(MemTables::new()).expect("store")
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn moves_apply_removals_then_additions() {
        let s = store();
        s.move_placement(
            &[],
            &[("n1".into(), ids(&["a", "b"])), ("n2".into(), ids(&["c"]))],
        )
        .expect("move");
        s.move_placement(&[("n1".into(), ids(&["a"]))], &[("n2".into(), ids(&["a"]))])
            .expect("move");
        let p = s.placement().expect("read");
        assert_eq!(p["n1"], ids(&["b"]));
        assert_eq!(p["n2"], ids(&["a", "c"]));
    }

    #[test]
    fn legacy_full_sets_replace_and_old_records_are_converted() {
        let s = store();
        s.table(Table::Placement)
            .insert("n1", serde_json::to_vec(&ids(&["x", "y"])).expect("json"))
            .expect("insert");
        s.upgrade_placement().expect("upgrade");
        assert_eq!(s.placement().expect("read")["n1"], ids(&["x", "y"]));
        s.set_placement(&[("n1".into(), ids(&["z"])), ("n2".into(), vec![])])
            .expect("set");
        let p = s.placement().expect("read");
        assert_eq!(p["n1"], ids(&["z"]));
        assert!(!p.contains_key("n2"));
    }
}
