//! Alerting routes: channels (`/v1/channels`), incidents (`/v1/incidents`), maintenance windows
//! (`/v1/maintenance`) and the mesh alert (`/v1/mesh`).
//!
//! Channel configurations are sealed with the cluster secret key before they enter the log, so
//! credentials are never stored or replicated in the clear; responses show them redacted.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use netpulse_alert::{Alert, ChannelConfig};
use serde::Deserialize;

use super::alert_views as v;
use super::error::ApiError;
use super::handlers::{data, ApiResult};
use super::monitor_input::validate_tags;
use super::page::{paged, PageQuery};
use super::views::parse_time;
use super::{new_id, Caller, JsonBody};
use crate::context::Context;
use crate::now_ms;
use crate::ops;
use netpulse_engine::alerting::{ChannelRecord, Maintenance, MaintenanceSchedule};
use netpulse_engine::command::{Command, IncidentAction};

/// Longest name or title.
const MAX_NAME: usize = 200;
/// Longest incident update or root cause.
const MAX_TEXT: usize = 10_000;

fn name_field(field: &str, s: &str) -> Result<String, ApiError> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > MAX_NAME {
        return Err(ApiError::invalid_field(
            field,
            format!("must be 1 to {MAX_NAME} characters"),
        ));
    }
    Ok(s.to_owned())
}

fn text_field(field: &str, s: &str) -> Result<String, ApiError> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > MAX_TEXT {
        return Err(ApiError::invalid_field(
            field,
            format!("must be 1 to {MAX_TEXT} characters"),
        ));
    }
    Ok(s.to_owned())
}

// ---- channels -------------------------------------------------------------------------------

/// `POST /v1/channels` and `PUT /v1/channels/{id}` bodies.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChannelInput {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    config: serde_json::Value,
    #[serde(default)]
    route_tags: Vec<String>,
    mesh_alerts: Option<bool>,
}

impl ChannelInput {
    fn into_record(
        self,
        ctx: &Context,
        id: String,
        previous: Option<&ChannelRecord>,
        created_at_ms: i64,
    ) -> Result<ChannelRecord, ApiError> {
        let name = name_field("name", &self.name)?;
        let prev_cfg = previous
            .and_then(|p| ChannelConfig::from_sealed(ctx.secret_key(), &p.sealed_config).ok());
        let cfg = match &prev_cfg {
            Some(prev) => ChannelConfig::parse_update(&self.kind, &self.config, prev),
            None => ChannelConfig::parse(&self.kind, &self.config),
        }
        .map_err(|e| ApiError::invalid_field(&e.field, e.message))?;
        Ok(ChannelRecord {
            id,
            name,
            kind: cfg.kind().to_owned(),
            sealed_config: cfg.to_sealed(ctx.secret_key()),
            redacted_config: cfg.redacted().to_string(),
            route_tags: validate_tags("route_tags", self.route_tags)?,
            mesh_alerts: self.mesh_alerts.unwrap_or(true),
            created_at_ms,
        })
    }
}

pub(super) async fn list_channels(
    State(ctx): State<Context>,
    _c: Caller,
    Query(q): Query<PageQuery>,
) -> ApiResult {
    let p = q.paging()?;
    let page = ctx.store().channels_page(p.after.as_deref(), p.limit)?;
    let views: Vec<_> = page.items.iter().map(v::channel).collect();
    Ok(paged(views, page.next))
}

pub(super) async fn get_channel(
    State(ctx): State<Context>,
    _c: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let c = ctx
        .store()
        .channel(&id)?
        .ok_or_else(|| ApiError::not_found(format!("channel {id}")))?;
    Ok(data(v::channel(&c)).into_response())
}

pub(super) async fn create_channel(
    State(ctx): State<Context>,
    caller: Caller,
    JsonBody(input): JsonBody<ChannelInput>,
) -> ApiResult {
    caller.require_write()?;
    let record = input.into_record(&ctx, new_id("ch"), None, now_ms())?;
    let id = record.id.clone();
    ops::write_done(&ctx, Command::PutChannel(Box::new(record))).await?;
    let c = ctx
        .store()
        .channel(&id)?
        .ok_or_else(|| ApiError::not_found(format!("channel {id}")))?;
    Ok((StatusCode::CREATED, data(v::channel(&c))).into_response())
}

pub(super) async fn update_channel(
    State(ctx): State<Context>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<ChannelInput>,
) -> ApiResult {
    caller.require_write()?;
    let old = ctx
        .store()
        .channel(&id)?
        .ok_or_else(|| ApiError::not_found(format!("channel {id}")))?;
    let record = input.into_record(&ctx, id.clone(), Some(&old), old.created_at_ms)?;
    ops::write_done(&ctx, Command::PutChannel(Box::new(record))).await?;
    let c = ctx
        .store()
        .channel(&id)?
        .ok_or_else(|| ApiError::not_found(format!("channel {id}")))?;
    Ok(data(v::channel(&c)).into_response())
}

pub(super) async fn delete_channel(
    State(ctx): State<Context>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    caller.require_write()?;
    ops::write_done(&ctx, Command::DeleteChannel { id }).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1/channels/{id}/test`: sends a test alert now, from this coordinator, and reports
/// what the receiver said. Nothing is committed.
pub(super) async fn test_channel(
    State(ctx): State<Context>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    caller.require_write()?;
    let c = ctx
        .store()
        .channel(&id)?
        .ok_or_else(|| ApiError::not_found(format!("channel {id}")))?;
    let cfg = ChannelConfig::from_sealed(ctx.secret_key(), &c.sealed_config).map_err(|e| {
        ApiError::internal(format!(
            "cannot unseal channel {id} on this coordinator ({e}); do all coordinators share \
             one secret key?"
        ))
    })?;
    let now = now_ms();
    let alert = Alert::test(format!("test.{id}.{now}"), now);
    match ctx.sender().send(&cfg, &alert).await {
        Ok(()) => Ok(data(serde_json::json!({
            "delivered": true,
            "idempotency_key": alert.idempotency_key,
        }))
        .into_response()),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "delivery_failed",
            format!("the channel did not accept the test alert: {}", e.message()),
        )),
    }
}

// ---- incidents ------------------------------------------------------------------------------

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

// ---- maintenance ----------------------------------------------------------------------------

/// `POST /v1/maintenance` body. One-off: `starts_at` + `ends_at`; recurring: `weekly` with
/// `days` (1 = Monday .. 7 = Sunday), `start` ("HH:MM", UTC) and `duration_min`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MaintenanceInput {
    title: String,
    #[serde(default)]
    monitors: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    weekly: Option<WeeklyInput>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WeeklyInput {
    days: Vec<u8>,
    start: String,
    duration_min: u32,
}

fn hh_mm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
    (h < 24 && m < 60 && s.len() == 5).then_some(h * 60 + m)
}

impl MaintenanceInput {
    fn validate(self, ctx: &Context) -> Result<Maintenance, ApiError> {
        let title = name_field("title", &self.title)?;
        for m in &self.monitors {
            if ctx.store().monitor(m)?.is_none() {
                return Err(ApiError::invalid_field(
                    "monitors",
                    format!("monitor {m} does not exist"),
                ));
            }
        }
        let schedule = match (self.starts_at, self.ends_at, self.weekly) {
            (Some(s), Some(e), None) => {
                let starts_at_ms = parse_time(&s).ok_or_else(|| {
                    ApiError::invalid_field("starts_at", "must be RFC 3339 or Unix ms")
                })?;
                let ends_at_ms = parse_time(&e).ok_or_else(|| {
                    ApiError::invalid_field("ends_at", "must be RFC 3339 or Unix ms")
                })?;
                if ends_at_ms <= starts_at_ms {
                    return Err(ApiError::invalid_field(
                        "ends_at",
                        "must be after starts_at",
                    ));
                }
                MaintenanceSchedule::Once {
                    starts_at_ms,
                    ends_at_ms,
                }
            }
            (None, None, Some(w)) => {
                let mut days = w.days;
                days.sort_unstable();
                days.dedup();
                if days.is_empty() || days.iter().any(|d| !(1..=7).contains(d)) {
                    return Err(ApiError::invalid_field(
                        "weekly.days",
                        "name 1 to 7 ISO weekdays (1 = Monday .. 7 = Sunday)",
                    ));
                }
                let start_minute = hh_mm(&w.start).ok_or_else(|| {
                    ApiError::invalid_field("weekly.start", "must be \"HH:MM\" (UTC)")
                })?;
                if !(1..=7 * 24 * 60).contains(&w.duration_min) {
                    return Err(ApiError::invalid_field(
                        "weekly.duration_min",
                        "must be between 1 and 10080 (a week)",
                    ));
                }
                MaintenanceSchedule::Weekly {
                    days,
                    start_minute,
                    duration_min: w.duration_min,
                }
            }
            _ => {
                return Err(ApiError::invalid_field(
                    "schedule",
                    "give either starts_at and ends_at, or weekly",
                ))
            }
        };
        Ok(Maintenance {
            id: new_id("mnt"),
            title,
            monitors: self.monitors,
            tags: validate_tags("tags", self.tags)?,
            schedule,
            created_at_ms: now_ms(),
        })
    }
}

pub(super) async fn list_maintenance(
    State(ctx): State<Context>,
    _c: Caller,
    Query(q): Query<PageQuery>,
) -> ApiResult {
    let now = now_ms();
    let p = q.paging()?;
    let page = ctx.store().maintenances_page(p.after.as_deref(), p.limit)?;
    let views: Vec<_> = page.items.iter().map(|m| v::maintenance(m, now)).collect();
    Ok(paged(views, page.next))
}

pub(super) async fn create_maintenance(
    State(ctx): State<Context>,
    caller: Caller,
    JsonBody(input): JsonBody<MaintenanceInput>,
) -> ApiResult {
    caller.require_write()?;
    let w = input.validate(&ctx)?;
    let id = w.id.clone();
    ops::write_done(&ctx, Command::PutMaintenance(Box::new(w))).await?;
    let w = ctx
        .store()
        .maintenance(&id)?
        .ok_or_else(|| ApiError::not_found(format!("maintenance window {id}")))?;
    Ok((StatusCode::CREATED, data(v::maintenance(&w, now_ms()))).into_response())
}

pub(super) async fn delete_maintenance(
    State(ctx): State<Context>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    caller.require_write()?;
    ops::write_done(&ctx, Command::DeleteMaintenance { id }).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- mesh -----------------------------------------------------------------------------------

/// `GET /v1/mesh`: whether regions cannot vote, and which.
pub(super) async fn mesh(State(ctx): State<Context>, _c: Caller) -> ApiResult {
    let store = ctx.store();
    Ok(data(v::mesh(&store.mesh_state()?, store.mesh_entries()?)).into_response())
}
