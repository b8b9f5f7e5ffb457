//! The heartbeat: every [`SEEN_INTERVAL`] a coordinator commits `NodesSeen` for the nodes
//! whose sessions it holds, so every replica knows when each node was last heard from (the
//! placer moves checks off nodes silent for longer than the node timeout).

use std::time::Duration;

use netpulse_engine::command::Command;
use tokio::sync::watch;

use crate::context::Context;
use crate::now_ms;

/// How often a coordinator reports the nodes it holds sessions with.
pub const SEEN_INTERVAL: Duration = Duration::from_secs(2);

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
