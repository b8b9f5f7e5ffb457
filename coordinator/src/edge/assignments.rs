//! Publishes what every node must run, from the committed placement.
//!
//! The leader decides placement ([`crate::placement`]) and commits it; every coordinator derives
//! each node's checks from the placement and the monitors in its own state, so a node gets the
//! same checks whichever coordinator holds its session. Sessions watch the result and send their
//! node the difference.

use std::collections::BTreeMap;
use std::sync::Arc;

use netpulse_protocol::check::CheckSpec;
use tokio::sync::watch;

use crate::state::model::Monitor;
use crate::state::StateStore;

/// One node's checks, keyed by monitor id. Shared: the publisher, every session and the next
/// computation hold the same map and the same specs (a monitor placed in three regions has one
/// spec), so memory grows with monitors, not with monitors x regions x sessions.
pub type NodeChecks = Arc<BTreeMap<String, Arc<CheckSpec>>>;

/// Checks per node id.
pub type Assignments = Arc<BTreeMap<String, NodeChecks>>;

/// How long the publisher waits after a change for more before recomputing: a burst of
/// writes (an `apply` of thousands of monitors) costs one pass, not one per write.
pub const SETTLE: std::time::Duration = std::time::Duration::from_millis(200);

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

/// Derives every node's checks from the committed placement, reusing from `previous` each spec
/// and each node map that did not change.
fn compute(store: &StateStore, previous: &Assignments) -> Option<Assignments> {
    let read = || -> Result<Assignments, crate::state::StateError> {
        let known: BTreeMap<&str, &Arc<CheckSpec>> = previous
            .values()
            .flat_map(|n| n.iter().map(|(id, s)| (id.as_str(), s)))
            .collect();
        let mut specs: BTreeMap<String, Arc<CheckSpec>> = BTreeMap::new();
        for m in store.monitors()?.iter().filter(|m| !m.paused) {
            let spec = check_spec(m);
            let old = known.get(m.id.as_str()).filter(|old| ****old == spec);
            specs.insert(
                m.id.clone(),
                old.map_or_else(|| Arc::new(spec), |o| (*o).clone()),
            );
        }
        let out = store
            .placement()?
            .into_iter()
            .map(|(node, ids)| {
                let checks: BTreeMap<String, Arc<CheckSpec>> = ids
                    .into_iter()
                    .filter_map(|id| specs.get(&id).map(|s| (id, s.clone())))
                    .collect();
                let checks = match previous.get(&node) {
                    Some(old) if **old == checks => old.clone(),
                    _ => Arc::new(checks),
                };
                (node, checks)
            })
            .collect();
        Ok(Arc::new(out))
    };
    read()
        .map_err(|e| tracing::error!(error = %e, "cannot read placement"))
        .ok()
}

/// Starts the publisher; the receiver always holds the current assignments.
pub fn spawn(store: StateStore) -> watch::Receiver<Assignments> {
    let (tx, rx) = watch::channel(compute(&store, &Assignments::default()).unwrap_or_default());
    let mut versions = store.subscribe();
    tokio::spawn(async move {
        while crate::state::config_changed(&mut versions).await.is_ok() {
            tokio::time::sleep(SETTLE).await;
            versions.borrow_and_update();
            let previous = tx.borrow().clone();
            if let Some(a) = compute(&store, &previous) {
                tx.send_if_modified(|cur| {
                    let changed = **cur != *a;
                    if changed {
                        *cur = a;
                    }
                    changed
                });
            }
            if tx.is_closed() {
                break;
            }
        }
    });
    rx
}
