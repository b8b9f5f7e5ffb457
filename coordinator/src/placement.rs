//! Keeping placement and node liveness in the replicated state.
//!
//! Two loops run on every coordinator:
//! - [`heartbeat`]: every [`SEEN_INTERVAL`] it commits `NodesSeen` for the nodes whose sessions
//!   it holds, so every replica knows when each node was last heard from.
//! - [`placer`]: on the leader only, it places monitors on the nodes heard from within the node
//!   timeout (rendezvous hashing, [`crate::assign::place`]) and commits the nodes whose set
//!   changed. A node that falls silent keeps its checks until the timeout, so a brief reconnect
//!   moves nothing; after it, its checks move to another node of the same region.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::sync::watch;

use crate::assign::{place, LiveNode};
use crate::context::Context;
use crate::now_ms;
use crate::state::command::Command;

/// How often a coordinator reports the nodes it holds sessions with.
pub const SEEN_INTERVAL: Duration = Duration::from_secs(2);
/// How often the leader re-evaluates placement (also after every configuration change).
pub const PLACE_INTERVAL: Duration = Duration::from_secs(1);
/// Edge nodes per region each monitor runs on.
pub const NODES_PER_REGION: usize = 1;

/// Reports this coordinator's live sessions until `shutdown`.
pub async fn heartbeat(ctx: Context, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(SEEN_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let nodes: Vec<String> = ctx.sessions().live().into_iter().map(|n| n.id).collect();
        if nodes.is_empty() {
            continue;
        }
        if let Err(e) = ctx
            .write(Command::NodesSeen {
                coordinator: ctx.id(),
                nodes,
                at_ms: now_ms(),
            })
            .await
        {
            tracing::debug!(error = %e, "node liveness not recorded");
        }
    }
}

/// The changes that turn `current` into `wanted`, per node.
pub fn diff(
    current: &BTreeMap<String, Vec<String>>,
    wanted: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<(String, Vec<String>)> {
    let mut changes = Vec::new();
    for (node, set) in wanted {
        let now: BTreeSet<&String> = current
            .get(node)
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        if now != set.iter().collect::<BTreeSet<_>>() {
            changes.push((node.clone(), set.iter().cloned().collect()));
        }
    }
    for node in current.keys().filter(|n| !wanted.contains_key(*n)) {
        changes.push((node.clone(), Vec::new()));
    }
    changes
}

/// On the leader, keeps the committed placement in line with monitors and live nodes.
pub async fn placer(ctx: Context, node_timeout: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut versions = ctx.store().subscribe();
    let mut tick = tokio::time::interval(PLACE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            // Monitors or nodes changed; result batches alone never move placement. A change
            // that races the tick branch may count as seen; the next tick covers it.
            r = crate::state::config_changed(&mut versions) => if r.is_err() { return },
            _ = shutdown.changed() => return,
        }
        if !ctx.is_leader() {
            continue;
        }
        if let Err(e) = place_once(&ctx, node_timeout).await {
            tracing::warn!(error = %e, "placement not updated");
        }
    }
}

async fn place_once(ctx: &Context, node_timeout: Duration) -> Result<(), String> {
    let store = ctx.store();
    let now = now_ms();
    let timeout_ms = i64::try_from(node_timeout.as_millis()).unwrap_or(i64::MAX);
    let live: Vec<LiveNode> = store
        .nodes()
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|n| !n.revoked && now.saturating_sub(n.last_seen_ms) < timeout_ms)
        .map(|n| LiveNode {
            id: n.id,
            region: n.region,
        })
        .collect();
    let monitors = store.monitors().map_err(|e| e.to_string())?;
    let wanted = place(&monitors, &live, NODES_PER_REGION);
    let current = store.placement().map_err(|e| e.to_string())?;
    let changes = diff(&current, &wanted);
    if changes.is_empty() {
        return Ok(());
    }
    tracing::info!(
        nodes = changes.len(),
        live = live.len(),
        "placement changed"
    );
    ctx.write(Command::SetPlacement { changes })
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lists_changed_and_vanished_nodes_only() {
        let current = BTreeMap::from([
            ("a".to_string(), vec!["m1".to_string(), "m2".to_string()]),
            ("b".to_string(), vec!["m3".to_string()]),
            ("gone".to_string(), vec!["m4".to_string()]),
        ]);
        let wanted = BTreeMap::from([
            (
                "a".to_string(),
                BTreeSet::from(["m2".to_string(), "m1".to_string()]),
            ),
            (
                "b".to_string(),
                BTreeSet::from(["m3".to_string(), "m4".to_string()]),
            ),
        ]);
        let d = diff(&current, &wanted);
        assert_eq!(
            d,
            vec![
                ("b".into(), vec!["m3".into(), "m4".into()]),
                ("gone".into(), vec![])
            ]
        );
        assert!(diff(
            &current,
            &current
                .iter()
                .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
                .collect()
        )
        .is_empty());
    }
}
