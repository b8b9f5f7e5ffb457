//! The coordinator's background tasks, each a thin loop around the state: what it reads,
//! what it commits, how often.
//!
//! | driver | runs | does |
//! |---|---|---|
//! | [`heartbeat`] | every coordinator | commits which nodes it holds sessions with |
//! | [`ticker`] | the leader | commits the time (`Tick`) |
//! | [`placer`] | the leader (followers keep their copy current) | commits placement moves |
//! | [`dispatcher`] | the leader | sends committed notifications, commits each outcome |
//!
//! The rules they act on live in `netpulse-engine`; a driver only carries time, the network
//! or a channel to them.

pub mod dispatcher;
pub mod heartbeat;
pub mod placer;
pub mod ticker;

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::context::Context;

/// Starts every driver; each stops when `shutdown` flips to true.
pub fn spawn(
    ctx: &Context,
    node_timeout: Duration,
    retention: netpulse_engine::state::retention::Retention,
    shutdown: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(heartbeat::heartbeat(ctx.clone(), shutdown.clone())),
        tokio::spawn(ticker::ticker(ctx.clone(), retention, shutdown.clone())),
        tokio::spawn(dispatcher::dispatcher(ctx.clone(), shutdown.clone())),
        tokio::spawn(placer::placer(ctx.clone(), node_timeout, shutdown.clone())),
    ]
}
