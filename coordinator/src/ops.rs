//! The writes the front doors share, one function each: the REST API, config-as-code
//! ([`crate::apply`]) and the web UI call these instead of building commands and reading
//! answers on their own, so a rule about a write (what it answers, what a refusal means)
//! lives in one place.

use netpulse_engine::command::{Command, IncidentAction};
use netpulse_engine::model::Monitor;
use netpulse_engine::state::Refused;

use crate::context::{Context, WriteError};
use crate::now_ms;

/// Why a shared write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// It was not committed (no leader, consensus down).
    #[error(transparent)]
    Write(#[from] WriteError),
    /// It was committed and the state machine refused it.
    #[error(transparent)]
    Refused(#[from] Refused),
}

/// Creates (`expect_existing` false) or replaces a monitor; returns its new revision.
pub async fn put_monitor(
    ctx: &Context,
    monitor: Monitor,
    expect_existing: bool,
) -> Result<u64, OpError> {
    let answer = ctx
        .write(Command::PutMonitor {
            monitor: Box::new(monitor),
            expect_existing,
        })
        .await?;
    Ok(answer.revision()?)
}

/// Deletes a monitor with its results and decisions.
pub async fn delete_monitor(ctx: &Context, id: String) -> Result<(), OpError> {
    Ok(ctx.write(Command::DeleteMonitor { id }).await?.done()?)
}

/// Acknowledges, updates, annotates or resolves an incident as `author`.
pub async fn incident_action(
    ctx: &Context,
    id: String,
    action: IncidentAction,
    author: String,
) -> Result<(), OpError> {
    let cmd = Command::IncidentAction {
        id,
        action,
        author,
        at_ms: now_ms(),
    };
    Ok(ctx.write(cmd).await?.done()?)
}

/// Opens an incident by hand; returns its id.
pub async fn open_incident(
    ctx: &Context,
    title: String,
    message: Option<String>,
    monitor_id: Option<String>,
    author: String,
) -> Result<String, OpError> {
    let cmd = Command::OpenIncident {
        title,
        message,
        monitor_id,
        author,
        at_ms: now_ms(),
    };
    Ok(ctx.write(cmd).await?.created()?)
}

/// Any write that answers [`netpulse_engine::state::Answer::Done`].
pub async fn write_done(ctx: &Context, cmd: Command) -> Result<(), OpError> {
    Ok(ctx.write(cmd).await?.done()?)
}
