//! Publishes what every node must run, from the committed placement.
//!
//! The leader decides placement ([`crate::drivers::placer`]) and commits it; every coordinator derives
//! each node's checks from the placement and the monitors in its own state, so a node gets the
//! same checks whichever coordinator holds its session. Sessions watch the result and send their
//! node the difference.

use std::collections::BTreeMap;
use std::sync::Arc;

use netpulse_protocol::check::CheckSpec;
use tokio::sync::watch;

use crate::store::feed::Tracker;
use crate::store::{ConfigWatch, StateStore};
use netpulse_engine::model::Monitor;
use netpulse_engine::state::StateError;

/// One node's checks, keyed by monitor id. Shared: the publisher, every session and the next
/// computation hold the same map and the same specs (a monitor placed in three regions has one
/// spec), so memory grows with monitors, not with monitors x regions x sessions.
pub type NodeChecks = Arc<BTreeMap<String, Arc<CheckSpec>>>;

/// Checks per node id.
pub type Assignments = Arc<BTreeMap<String, NodeChecks>>;

/// The check an edge node runs for a monitor.
pub fn check_spec(m: &Monitor) -> CheckSpec {
    CheckSpec {
        monitor_id: m.id.clone(),
        revision: m.revision,
        interval_ms: u64::from(m.interval_s) * 1000,
        timeout_ms: u64::from(m.timeout_s) * 1000,
        probe: m.probe.clone(),
    }
}

/// The publisher's copy of what it derives assignments from, kept current from the store's
/// change feed: a write re-reads the monitors and node sets it touched, not every monitor.
/// It keeps no copy of the placement (the placer has one; 300,000 ids at 100,000 monitors):
/// a node whose placement changed is re-read, and a changed monitor is looked up per node.
struct Publisher {
    tracker: Tracker,
    /// The check of every unpaused monitor.
    specs: BTreeMap<String, Arc<CheckSpec>>,
    /// What was last published.
    current: Assignments,
}

impl Publisher {
    fn new(store: &StateStore) -> Self {
        Self {
            tracker: store.track_changes(),
            specs: BTreeMap::new(),
            current: Assignments::default(),
        }
    }

    /// Brings the copy up to date and returns the assignments when they changed.
    fn update(&mut self, store: &StateStore) -> Result<Option<Assignments>, StateError> {
        let changes = self.tracker.take();
        if changes.is_empty() {
            return Ok(None);
        }
        let mut next = (*self.current).clone();
        // Tracked rather than found by comparing `next` with the published maps, which would
        // walk every check of every node on each pass.
        let mut changed = false;
        if changes.all {
            self.specs = store
                .monitors()?
                .iter()
                .filter(|m| !m.paused)
                .map(|m| (m.id.clone(), self.reuse(check_spec(m))))
                .collect();
            let placement = store.placement()?;
            let before = next.len();
            next.retain(|node, _| placement.contains_key(node));
            changed |= next.len() != before;
            for (node, ids) in placement {
                changed |= self.rebuild(&mut next, node, &ids);
            }
        } else {
            for id in &changes.monitors {
                match store.monitor(id)?.filter(|m| !m.paused) {
                    Some(m) => {
                        let spec = self.reuse(check_spec(&m));
                        self.specs.insert(id.clone(), spec);
                    }
                    None => {
                        self.specs.remove(id);
                    }
                }
            }
            for node in &changes.placement {
                let ids: Vec<String> = store.placement_of(node)?.into_iter().collect();
                if ids.is_empty() {
                    changed |= next.remove(node).is_some();
                } else {
                    changed |= self.rebuild(&mut next, node.clone(), &ids);
                }
            }
            // Changed monitors on the other nodes: one lookup per node and monitor.
            for (node, checks) in next
                .iter_mut()
                .filter(|(node, _)| !changes.placement.contains(*node))
            {
                for id in &changes.monitors {
                    let want = match self.specs.get(id) {
                        Some(spec) if store.is_placed(node, id)? => Some(spec),
                        _ => None,
                    };
                    match (checks.get(id), want) {
                        (Some(have), Some(want)) if Arc::ptr_eq(have, want) => {}
                        (None, None) => {}
                        (_, Some(want)) => {
                            Arc::make_mut(checks).insert(id.clone(), want.clone());
                            changed = true;
                        }
                        (Some(_), None) => {
                            Arc::make_mut(checks).remove(id);
                            changed = true;
                        }
                    }
                }
            }
        }
        if !changed {
            return Ok(None);
        }
        self.current = Arc::new(next);
        Ok(Some(self.current.clone()))
    }

    /// Sets `node`'s checks to the placed `ids` that run, keeping the old map when equal;
    /// true when they changed.
    fn rebuild(
        &self,
        next: &mut BTreeMap<String, NodeChecks>,
        node: String,
        ids: &[String],
    ) -> bool {
        let checks: BTreeMap<String, Arc<CheckSpec>> = ids
            .iter()
            .filter_map(|id| self.specs.get(id).map(|s| (id.clone(), s.clone())))
            .collect();
        match next.get(&node) {
            Some(old) if **old == checks => false,
            _ => {
                next.insert(node, Arc::new(checks));
                true
            }
        }
    }

    /// The spec already shared for this monitor when it is unchanged, so sessions comparing
    /// maps see the same `Arc`.
    fn reuse(&self, spec: CheckSpec) -> Arc<CheckSpec> {
        match self.specs.get(&spec.monitor_id) {
            Some(old) if **old == spec => old.clone(),
            _ => Arc::new(spec),
        }
    }
}

/// Starts the publisher; the receiver always holds the current assignments.
pub fn spawn(store: StateStore) -> watch::Receiver<Assignments> {
    let mut config = ConfigWatch::new(store.subscribe());
    let mut publisher = Publisher::new(&store);
    let first = match publisher.update(&store) {
        Ok(a) => a.unwrap_or_default(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read placement");
            Assignments::default()
        }
    };
    let (tx, rx) = watch::channel(first);
    tokio::spawn(async move {
        while config.changed().await.is_ok() {
            tokio::time::sleep(crate::store::SETTLE).await;
            config.mark();
            match publisher.update(&store) {
                Ok(Some(a)) => {
                    tx.send_replace(a);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, "cannot read placement");
                    // Read everything again next time rather than publish a partial change.
                    publisher = Publisher::new(&store);
                }
            }
            if tx.is_closed() {
                break;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;
    use netpulse_engine::command::Command;
    use netpulse_engine::fixtures::test_monitor as monitor;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Applies `cmd` at `index`.
    fn apply(store: &StateStore, cmd: Command, index: u64) {
        store.apply(&cmd, index).expect("apply");
    }

    fn put(store: &StateStore, m: Monitor, index: u64) {
        let existing = store.monitor(&m.id).expect("read").is_some();
        apply(
            store,
            Command::PutMonitor {
                monitor: Box::new(m),
                expect_existing: existing,
            },
            index,
        );
    }

    /// Checks per node as monitor id -> interval, to compare by value.
    fn shape(a: &Assignments) -> BTreeMap<String, BTreeMap<String, u64>> {
        a.iter()
            .map(|(n, c)| {
                let checks = c
                    .iter()
                    .map(|(id, s)| (id.clone(), s.interval_ms))
                    .collect();
                (n.clone(), checks)
            })
            .collect()
    }

    /// Every step, the incremental publisher agrees with one that reads everything.
    #[test]
    fn incremental_updates_match_a_full_read_and_share_what_did_not_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = sled::open(dir.path()).expect("sled");
        let store = StateStore::open(&db).expect("store");
        let mut p = Publisher::new(&store);
        assert_eq!(p.update(&store).expect("first"), None, "empty stays empty");
        let full = |store: &StateStore| {
            let mut f = Publisher::new(store);
            f.update(store).expect("full").unwrap_or_default()
        };

        put(&store, monitor("m1", &["eu"]), 1);
        put(&store, monitor("m2", &["eu", "us"]), 2);
        let mut paused = monitor("m3", &["eu"]);
        paused.paused = true;
        put(&store, paused, 3);
        let add = vec![
            ("n1".into(), ids(&["m1", "m2", "m3"])),
            ("n2".into(), ids(&["m2"])),
        ];
        apply(
            &store,
            Command::MovePlacement {
                remove: vec![],
                add,
            },
            4,
        );
        let a = p.update(&store).expect("update").expect("changed");
        assert_eq!(
            shape(&a),
            BTreeMap::from([
                (
                    "n1".into(),
                    BTreeMap::from([("m1".into(), 30_000), ("m2".into(), 30_000)])
                ),
                ("n2".into(), BTreeMap::from([("m2".into(), 30_000)])),
            ]),
            "a paused monitor is placed but not run"
        );
        assert_eq!(shape(&a), shape(&full(&store)));

        // A monitor only n1 runs changes: n2's map is the very same one.
        let mut m1 = monitor("m1", &["eu"]);
        m1.interval_s = 60;
        put(&store, m1, 5);
        let b = p.update(&store).expect("update").expect("changed");
        assert_eq!(b["n1"]["m1"].interval_ms, 60_000);
        assert!(Arc::ptr_eq(&a["n2"], &b["n2"]));
        assert!(
            Arc::ptr_eq(&a["n1"]["m2"], &b["n1"]["m2"]),
            "specs are shared"
        );
        assert_eq!(shape(&b), shape(&full(&store)));

        // Deleted: gone from both nodes before the placer moves it.
        apply(&store, Command::DeleteMonitor { id: "m2".into() }, 6);
        let c = p.update(&store).expect("update").expect("changed");
        assert_eq!(shape(&c), shape(&full(&store)));
        assert!(c["n2"].is_empty());

        // Unpaused, and n2 loses its placement.
        put(&store, monitor("m3", &["eu"]), 7);
        let remove = vec![("n2".into(), ids(&["m2"]))];
        apply(
            &store,
            Command::MovePlacement {
                remove,
                add: vec![],
            },
            8,
        );
        let d = p.update(&store).expect("update").expect("changed");
        assert_eq!(shape(&d), shape(&full(&store)));
        assert!(d["n1"].contains_key("m3") && !d.contains_key("n2"));
        assert_eq!(p.update(&store).expect("update"), None, "nothing new");
    }
}
