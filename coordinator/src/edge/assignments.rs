//! Publishes what every live node must run.
//!
//! Recomputed whenever monitors or live sessions change, from [`crate::assign::place`]; sessions
//! watch the result and send their node the difference. Placement is computed by the coordinator
//! holding the sessions from the replicated monitors, so it is the same on every replica for the
//! same live set.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use netpulse_protocol::check::CheckSpec;
use tokio::sync::watch;

use super::registry::Sessions;
use crate::assign::place;
use crate::state::model::Monitor;
use crate::state::StateStore;

/// Checks per node id, keyed by monitor id.
pub type Assignments = Arc<BTreeMap<String, BTreeMap<String, CheckSpec>>>;

/// Edge nodes per region each monitor runs on.
pub const NODES_PER_REGION: usize = 1;

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

fn compute(store: &StateStore, sessions: &Sessions) -> Option<Assignments> {
    let monitors = match store.monitors() {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "cannot read monitors for placement");
            return None;
        }
    };
    let placement = place(&monitors, &sessions.live(), NODES_PER_REGION);
    let by_id: BTreeMap<&str, &Monitor> = monitors.iter().map(|m| (m.id.as_str(), m)).collect();
    let out = placement
        .into_iter()
        .map(|(node, ids)| {
            let checks = ids
                .iter()
                .filter_map(|id| by_id.get(id.as_str()).map(|m| (id.clone(), check_spec(m))))
                .collect();
            (node, checks)
        })
        .collect();
    Some(Arc::new(out))
}

/// Starts the publisher; the receiver always holds the current assignments.
pub fn spawn(store: StateStore, sessions: Sessions) -> watch::Receiver<Assignments> {
    let initial = compute(&store, &sessions).unwrap_or_default();
    let (tx, rx) = watch::channel(initial);
    let mut config = store.subscribe();
    let mut live = sessions.subscribe();
    tokio::spawn(async move {
        loop {
            let mut last_config = config.borrow_and_update().config;
            tokio::select! {
                r = live.changed() => if r.is_err() { break },
                r = async {
                    loop {
                        config.changed().await?;
                        let v = config.borrow_and_update().config;
                        if v != last_config { last_config = v; return Ok::<_, watch::error::RecvError>(()); }
                    }
                } => if r.is_err() { break },
            }
            // Coalesce bursts (a batch of API writes, many nodes reconnecting).
            tokio::time::sleep(Duration::from_millis(20)).await;
            if let Some(a) = compute(&store, &sessions) {
                tx.send_if_modified(|cur| {
                    if **cur == *a {
                        false
                    } else {
                        *cur = a;
                        true
                    }
                });
            }
            if tx.is_closed() {
                break;
            }
        }
    });
    rx
}
