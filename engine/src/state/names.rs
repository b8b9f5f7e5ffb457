//! Monitors by name: the index config-as-code matches declared monitors through.
//!
//! `apply` matches a declared monitor to an existing one by name. Finding it by decoding every
//! monitor made applying a file of N monitors cost N² decodes (at 10,000 monitors, 10⁸). The
//! index keeps one key per monitor, `name \0 id` with an empty value, written in the same
//! batch as the monitor. Names are not unique (the API does not require it), so a name can
//! list several ids. State from before the index gets it built when it opens or a snapshot of
//! it is installed.

use super::model::Monitor;
use super::{from_json, State, StateError};
use crate::tables::{Table, Tables};

fn key(name: &str, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(name.len() + id.len() + 1);
    k.extend_from_slice(name.as_bytes());
    k.push(0);
    k.extend_from_slice(id.as_bytes());
    k
}

impl<T: Tables + Clone> State<T> {
    /// The monitors named `name`, by id.
    pub fn monitors_named(&self, name: &str) -> Result<Vec<Monitor>, StateError> {
        let mut prefix = name.as_bytes().to_vec();
        prefix.push(0);
        let ids = self
            .table(Table::MonitorNames)
            .scan_prefix(&prefix)
            .keys()
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(ids.len());
        for k in ids {
            let id = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            if let Some(m) = self.monitor(&id)? {
                out.push(m);
            }
        }
        Ok(out)
    }

    /// Keeps the index in step with a monitor written (`old` is what it replaced).
    pub(super) fn index_name(
        &self,
        old: Option<&Monitor>,
        new: &Monitor,
    ) -> Result<(), StateError> {
        let names = self.table(Table::MonitorNames);
        if let Some(old) = old.filter(|o| o.name != new.name) {
            names.remove(key(&old.name, &old.id))?;
        }
        names.insert(key(&new.name, &new.id), Vec::new())?;
        Ok(())
    }

    /// Drops a deleted monitor from the index.
    pub(super) fn unindex_name(&self, old: &Monitor) -> Result<(), StateError> {
        self.table(Table::MonitorNames)
            .remove(key(&old.name, &old.id))?;
        Ok(())
    }

    /// Builds the index for state written before it existed (nothing to do when it has rows
    /// or there are no monitors).
    pub(super) fn upgrade_monitor_names(&self) -> Result<(), StateError> {
        if !self.table(Table::MonitorNames).is_empty()? {
            return Ok(());
        }
        let monitors = self
            .table(Table::Monitors)
            .iter()
            .values()
            .map(|v| from_json::<Monitor>("sm_monitors", &v?))
            .collect::<Result<Vec<_>, _>>()?;
        for m in &monitors {
            self.index_name(None, m)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::command::Command;
    use crate::fixtures::test_monitor;
    use crate::state::State;
    use crate::tables::{MemTables, Table};

    fn put(s: &State<MemTables>, m: crate::model::Monitor, existing: bool, index: u64) {
        s.apply(
            &Command::PutMonitor {
                monitor: Box::new(m),
                expect_existing: existing,
            },
            index,
        )
        .expect("apply");
    }

    fn ids(s: &State<MemTables>, name: &str) -> Vec<String> {
        s.monitors_named(name)
            .expect("read")
            .into_iter()
            .map(|m| m.id)
            .collect()
    }

    #[test]
    fn names_follow_writes_renames_and_deletes() {
        let s = State::open(MemTables::new()).expect("open");
        let mut a = test_monitor("mon_a", &["eu"]);
        a.name = "api".into();
        let mut b = test_monitor("mon_b", &["eu"]);
        b.name = "api".into();
        put(&s, a.clone(), false, 1);
        put(&s, b, false, 2);
        assert_eq!(ids(&s, "api"), ["mon_a", "mon_b"]);
        assert!(
            ids(&s, "ap").is_empty(),
            "a prefix of a name is not the name"
        );
        a.name = "web".into();
        put(&s, a, true, 3);
        assert_eq!(ids(&s, "api"), ["mon_b"]);
        assert_eq!(ids(&s, "web"), ["mon_a"]);
        s.apply(&Command::DeleteMonitor { id: "mon_b".into() }, 4)
            .expect("delete");
        assert!(ids(&s, "api").is_empty());
    }

    #[test]
    fn state_from_before_the_index_gets_it_on_open() {
        let tables = MemTables::new();
        let s = State::open(tables.clone()).expect("open");
        put(&s, test_monitor("mon_a", &["eu"]), false, 1);
        // As a coordinator before the index left it.
        s.table(Table::MonitorNames)
            .remove_prefix(b"")
            .expect("drop the index");
        assert!(ids(&s, "mon_a").is_empty());
        let reopened = State::open(tables).expect("open");
        assert_eq!(ids(&reopened, "mon_a"), ["mon_a"]);
    }
}
