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

use crate::assign::{place, LiveNode, Placement};
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

/// What turns `current` into `wanted`: monitors to take off each node, monitors to place on
/// each node (nodes in order, only those with a change).
pub type Moves = (Vec<(String, Vec<String>)>, Vec<(String, Vec<String>)>);

/// The moves that turn `current` into `wanted`.
pub fn diff(current: &BTreeMap<String, Vec<String>>, wanted: &Placement) -> Moves {
    let empty = BTreeSet::new();
    let (mut remove, mut add) = (Vec::new(), Vec::new());
    let nodes: BTreeSet<&String> = current.keys().chain(wanted.keys()).collect();
    for node in nodes {
        let want = wanted.get(node).unwrap_or(&empty);
        let have: BTreeSet<&String> = current
            .get(node)
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        let gone: Vec<String> = have
            .iter()
            .filter(|m| !want.contains(**m))
            .map(|m| (*m).clone())
            .collect();
        let new: Vec<String> = want.iter().filter(|m| !have.contains(m)).cloned().collect();
        if !gone.is_empty() {
            remove.push((node.clone(), gone));
        }
        if !new.is_empty() {
            add.push((node.clone(), new));
        }
    }
    (remove, add)
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
            r = crate::state::config_changed(&mut versions) => {
                if r.is_err() {
                    return;
                }
                // Let a burst of writes settle: one pass over all monitors, not one per write.
                tokio::time::sleep(crate::edge::assignments::SETTLE).await;
                versions.borrow_and_update();
            }
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
    let (remove, add) = diff(&current, &wanted);
    if remove.is_empty() && add.is_empty() {
        return Ok(());
    }
    let count = |v: &[(String, Vec<String>)]| v.iter().map(|(_, m)| m.len()).sum::<usize>();
    tracing::info!(
        placed = count(&add),
        removed = count(&remove),
        live = live.len(),
        "placement changed"
    );
    ctx.write(Command::MovePlacement { remove, add })
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lists_only_what_moves() {
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
        let (remove, add) = diff(&current, &wanted);
        assert_eq!(remove, vec![("gone".into(), vec!["m4".into()])]);
        assert_eq!(add, vec![("b".into(), vec!["m4".into()])]);
        let same: Placement = current
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
            .collect();
        assert_eq!(diff(&current, &same), (vec![], vec![]));
    }
}
