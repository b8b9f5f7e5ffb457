//! The ticker: the leader commits a tick every [`TICK_INTERVAL`], which is how time enters
//! the log. Staleness, reminders, escalation and maintenance are judged on ticks, so every
//! replica decides on the same clock. Ticks also prune history, by the retention this
//! leader's flags set (committed once as `SetRetention` when it differs from the state's).

use std::time::Duration;

use netpulse_engine::command::Command;
use netpulse_engine::state::retention::Retention;
use tokio::sync::watch;

use crate::context::Context;
use crate::now_ms;

/// How often the leader commits a tick; the resolution of everything judged on time alone.
pub const TICK_INTERVAL: Duration = Duration::from_secs(1);

/// Commits a tick every [`TICK_INTERVAL`] while this coordinator leads, after committing
/// `retention` when the state holds another.
pub async fn ticker(ctx: Context, retention: Retention, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(TICK_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        if !ctx.is_leader() {
            continue;
        }
        match ctx.store().retention() {
            Ok(Some(r)) if r == retention => {}
            Ok(_) => {
                if let Err(e) = ctx.write_local(Command::SetRetention(retention)).await {
                    tracing::debug!(error = %e, "retention not committed");
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading the retention"),
        }
        if let Err(e) = ctx.write_local(Command::Tick { at_ms: now_ms() }).await {
            tracing::debug!(error = %e, "tick not committed");
        }
    }
}
