//! `/v1/incidents`: incidents, opened by decisions or by hand, and the actions on them.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

use super::alert_views as v;
use super::error::ApiError;
use super::page::paged;
use super::text::{name_field, text_field};
use super::{data, ApiResult, Caller, JsonBody};
use crate::context::Context;
use crate::ops;
use netpulse_engine::command::IncidentAction;

/// Query of `GET /v1/incidents`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IncidentQuery {
    monitor_id: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

pub(super) async fn list_incidents(
    State(ctx): State<Context>,
    _c: Caller,
    Query(q): Query<IncidentQuery>,
) -> ApiResult {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            "must be between 1 and 1000",
        ));
    }
    let status = match q.status.as_deref() {
        None => None,
        Some(s @ ("open" | "resolved")) => Some(s.to_owned()),
        Some(_) => {
            return Err(ApiError::invalid_field(
                "status",
                "must be \"open\" or \"resolved\"",
            ))
        }
    };
    let before = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(
            netpulse_engine::alerting::incident_number(c)
                .ok_or_else(|| ApiError::invalid_field("cursor", "not a cursor from this list"))?,
        ),
    };
    let monitor = q.monitor_id.as_deref();
    let (incidents, more) = ctx.store().incidents_before(before, limit, |i| {
        monitor.is_none_or(|m| i.monitor_id.as_deref() == Some(m))
            && status.as_deref().is_none_or(|s| i.status.as_str() == s)
    })?;
    let next = if more {
        incidents.last().map(|i| i.id.clone())
    } else {
        None
    };
    let views: Vec<_> = incidents.iter().map(v::incident).collect();
    Ok(paged(views, next))
}

pub(super) async fn get_incident(
    State(ctx): State<Context>,
    _c: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let store = ctx.store();
    let inc = store
        .incident(&id)?
        .ok_or_else(|| ApiError::not_found(format!("incident {id}")))?;
    let mut deliveries = Vec::with_capacity(inc.notifications.len());
    for nid in &inc.notifications {
        if let Some(n) = store.notification(nid)? {
            deliveries.push(v::notification(&n));
        }
    }
    Ok(data(v::IncidentDetail {
        incident: v::incident(&inc),
        deliveries,
    })
    .into_response())
}

/// `POST /v1/incidents` body: a manual incident.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ManualIncident {
    title: String,
    message: Option<String>,
    monitor_id: Option<String>,
}

pub(super) async fn create_incident(
    State(ctx): State<Context>,
    caller: Caller,
    JsonBody(input): JsonBody<ManualIncident>,
) -> ApiResult {
    caller.require_write()?;
    let title = name_field("title", &input.title)?;
    let message = input
        .message
        .as_deref()
        .map(|m| text_field("message", m))
        .transpose()?;
    if let Some(mid) = &input.monitor_id {
        if ctx.store().monitor(mid)?.is_none() {
            return Err(ApiError::invalid_field(
                "monitor_id",
                format!("monitor {mid} does not exist"),
            ));
        }
    }
    let id = ops::open_incident(
        &ctx,
        title,
        message,
        input.monitor_id,
        caller.0.name.clone(),
    )
    .await?;
    let inc = ctx
        .store()
        .incident(&id)?
        .ok_or_else(|| ApiError::not_found(format!("incident {id}")))?;
    Ok((StatusCode::CREATED, data(v::incident(&inc))).into_response())
}

async fn incident_action(
    ctx: &Context,
    caller: &Caller,
    id: String,
    action: IncidentAction,
) -> ApiResult {
    caller.require_write()?;
    ops::incident_action(ctx, id.clone(), action, caller.0.name.clone()).await?;
    let inc = ctx
        .store()
        .incident(&id)?
        .ok_or_else(|| ApiError::not_found(format!("incident {id}")))?;
    Ok(data(v::incident(&inc)).into_response())
}

pub(super) async fn acknowledge_incident(
    State(ctx): State<Context>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    incident_action(&ctx, &caller, id, IncidentAction::Acknowledge).await
}

pub(super) async fn resolve_incident(
    State(ctx): State<Context>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    incident_action(&ctx, &caller, id, IncidentAction::Resolve).await
}

/// `POST /v1/incidents/{id}/updates` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateInput {
    message: String,
}

pub(super) async fn add_incident_update(
    State(ctx): State<Context>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<UpdateInput>,
) -> ApiResult {
    let message = text_field("message", &input.message)?;
    incident_action(&ctx, &caller, id, IncidentAction::Update { message }).await
}

/// `PUT /v1/incidents/{id}/root-cause` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RootCauseInput {
    root_cause: String,
}

pub(super) async fn set_root_cause(
    State(ctx): State<Context>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<RootCauseInput>,
) -> ApiResult {
    let text = text_field("root_cause", &input.root_cause)?;
    incident_action(&ctx, &caller, id, IncidentAction::RootCause { text }).await
}
