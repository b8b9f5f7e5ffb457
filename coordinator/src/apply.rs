//! Config-as-code: bring monitors to a declared state, matched by name.
//!
//! `netpulse up` uses it for its demo monitors; `netpulse apply -f` will use it for operators'
//! files. A declared monitor whose name exists replaces that monitor (keeping its id and
//! history); an unknown name creates one.

use crate::api::error::ApiError;
use crate::context::Context;
use crate::now_ms;
use netpulse_engine::input::{self as monitor_input, MonitorInput};
use netpulse_engine::model::Monitor;

/// What applying one declared monitor did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// A new monitor with this id.
    Created(String),
    /// The existing monitor with this id was replaced.
    Updated(String),
    /// The existing monitor already matched.
    Unchanged(String),
}

/// Applies one declared monitor, validated as the API validates it (the same
/// [`monitor_input::parse`], so a file cannot route alerts to a channel that does not exist).
pub async fn apply_monitor(ctx: &Context, input: MonitorInput) -> Result<Applied, ApiError> {
    let v = monitor_input::parse(input, |id| -> Result<bool, ApiError> {
        Ok(ctx.store().channel(id)?.is_some())
    })?;
    // Matched through the name index: reading every monitor per declared one made a file of
    // N monitors cost N² decodes.
    let mut named = ctx.store().monitors_named(&v.name)?;
    if named.len() > 1 {
        let ids: Vec<&str> = named.iter().map(|m| m.id.as_str()).collect();
        return Err(ApiError::conflict(format!(
            "{} monitors are named {:?} ({}); config-as-code matches by name, rename all but one",
            named.len(),
            v.name,
            ids.join(", ")
        )));
    }
    let existing = named.pop();
    let now = now_ms();
    let (monitor, expect_existing) = match &existing {
        Some(old) => (v.replace(old, now), true),
        None => (v.create(crate::api::new_id("mon"), now), false),
    };
    if let Some(old) = &existing {
        let same = Monitor {
            updated_at_ms: old.updated_at_ms,
            ..monitor.clone()
        };
        if &same == old {
            return Ok(Applied::Unchanged(old.id.clone()));
        }
    }
    let id = monitor.id.clone();
    crate::ops::put_monitor(ctx, monitor, expect_existing).await?;
    Ok(if expect_existing {
        Applied::Updated(id)
    } else {
        Applied::Created(id)
    })
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message(), self.status())
    }
}
