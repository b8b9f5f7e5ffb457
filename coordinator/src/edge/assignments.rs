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

/// Checks per node id, keyed by monitor id.
pub type Assignments = Arc<BTreeMap<String, BTreeMap<String, CheckSpec>>>;

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

fn compute(store: &StateStore) -> Option<Assignments> {
    let read = || -> Result<Assignments, crate::state::StateError> {
        let monitors = store.monitors()?;
        let by_id: BTreeMap<&str, &Monitor> = monitors.iter().map(|m| (m.id.as_str(), m)).collect();
        let out = store
            .placement()?
            .into_iter()
            .map(|(node, ids)| {
                let checks = ids
                    .iter()
                    .filter_map(|id| by_id.get(id.as_str()))
                    .filter(|m| !m.paused)
                    .map(|m| (m.id.clone(), check_spec(m)))
                    .collect();
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
    let (tx, rx) = watch::channel(compute(&store).unwrap_or_default());
    let mut versions = store.subscribe();
    tokio::spawn(async move {
        while crate::state::config_changed(&mut versions).await.is_ok() {
            if let Some(a) = compute(&store) {
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
