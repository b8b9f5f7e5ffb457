//! `/v1/maintenance`: maintenance windows, during which monitors alert no one.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

use super::alert_views as v;
use super::error::ApiError;
use super::page::{paged, PageQuery};
use super::text::name_field;
use super::views::parse_time;
use super::{data, new_id, ApiResult, Caller, JsonBody};
use crate::context::Context;
use crate::now_ms;
use crate::ops;
use netpulse_engine::alerting::{Maintenance, MaintenanceSchedule};
use netpulse_engine::command::Command;
use netpulse_engine::input::validate_tags;

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
