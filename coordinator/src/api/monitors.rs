//! `/v1/monitors`: create, read, replace, pause, resume and delete monitors, and read their
//! results.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::error::ApiError;
use super::page::{paged, PageQuery};
use super::views::{parse_time, MonitorView, ResultView};
use super::{data, ApiResult, Caller, JsonBody};
use crate::context::Context;
use crate::now_ms;
use crate::ops;
use netpulse_engine::input::{self as monitor_input, MonitorInput};
use netpulse_engine::model::Monitor;

fn monitor_view(ctx: &Context, m: &Monitor) -> Result<MonitorView, ApiError> {
    Ok(MonitorView::build(
        m,
        &ctx.store().latest(&m.id)?,
        ctx.store().monitor_health(&m.id)?.as_ref(),
        ctx.store().log_time(now_ms()),
    ))
}

pub(super) async fn list_monitors(
    State(ctx): State<Context>,
    _c: Caller,
    Query(q): Query<PageQuery>,
) -> ApiResult {
    let p = q.paging()?;
    let page = ctx.store().monitors_page(p.after.as_deref(), p.limit)?;
    let views = page
        .items
        .iter()
        .map(|m| monitor_view(&ctx, m))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(paged(views, page.next))
}

pub(super) async fn get_monitor(
    State(ctx): State<Context>,
    _c: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let m = ctx
        .store()
        .monitor(&id)?
        .ok_or_else(|| ApiError::not_found(format!("monitor {id}")))?;
    Ok(data(monitor_view(&ctx, &m)?).into_response())
}

async fn put_monitor(
    ctx: &Context,
    monitor: Monitor,
    expect_existing: bool,
) -> Result<Monitor, ApiError> {
    let id = monitor.id.clone();
    ops::put_monitor(ctx, monitor, expect_existing).await?;
    ctx.store()
        .monitor(&id)?
        .ok_or_else(|| ApiError::not_found(format!("monitor {id}")))
}

pub(super) async fn create_monitor(
    State(ctx): State<Context>,
    caller: Caller,
    JsonBody(input): JsonBody<MonitorInput>,
) -> ApiResult {
    caller.require_write()?;
    let v = monitor_input::parse(input, |id| -> Result<bool, ApiError> {
        Ok(ctx.store().channel(id)?.is_some())
    })?;
    let monitor = v.create(super::new_id("mon"), now_ms());
    let m = put_monitor(&ctx, monitor, false).await?;
    Ok((StatusCode::CREATED, data(monitor_view(&ctx, &m)?)).into_response())
}

pub(super) async fn update_monitor(
    State(ctx): State<Context>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<MonitorInput>,
) -> ApiResult {
    caller.require_write()?;
    let v = monitor_input::parse(input, |id| -> Result<bool, ApiError> {
        Ok(ctx.store().channel(id)?.is_some())
    })?;
    let old = ctx
        .store()
        .monitor(&id)?
        .ok_or_else(|| ApiError::not_found(format!("monitor {id}")))?;
    let monitor = v.replace(&old, now_ms());
    let m = put_monitor(&ctx, monitor, true).await?;
    Ok(data(monitor_view(&ctx, &m)?).into_response())
}

async fn set_paused(ctx: Context, caller: Caller, id: String, paused: bool) -> ApiResult {
    caller.require_write()?;
    let mut m = ctx
        .store()
        .monitor(&id)?
        .ok_or_else(|| ApiError::not_found(format!("monitor {id}")))?;
    m.paused = paused;
    m.updated_at_ms = now_ms();
    let m = put_monitor(&ctx, m, true).await?;
    Ok(data(monitor_view(&ctx, &m)?).into_response())
}

pub(super) async fn pause_monitor(
    State(ctx): State<Context>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    set_paused(ctx, caller, id, true).await
}

pub(super) async fn resume_monitor(
    State(ctx): State<Context>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    set_paused(ctx, caller, id, false).await
}

pub(super) async fn delete_monitor(
    State(ctx): State<Context>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    caller.require_write()?;
    ops::delete_monitor(&ctx, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Upper bound of `limit` for result listings.
pub const MAX_RESULTS: usize = 1000;

pub(super) async fn monitor_results(
    State(ctx): State<Context>,
    _c: Caller,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    if ctx.store().monitor(&id)?.is_none() {
        return Err(ApiError::not_found(format!("monitor {id}")));
    }
    let since = match q.get("since").filter(|s| !s.is_empty()) {
        Some(s) => Some(parse_time(s).ok_or_else(|| {
            ApiError::invalid_field("since", "must be an RFC 3339 time or Unix milliseconds")
        })?),
        None => None,
    };
    let limit = match q.get("limit").filter(|s| !s.is_empty()) {
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_RESULTS).contains(l))
            .ok_or_else(|| {
                ApiError::invalid_field("limit", format!("must be 1 to {MAX_RESULTS}"))
            })?,
        None => 100,
    };
    let before = match q.get("before").filter(|s| !s.is_empty()) {
        Some(c) => Some(
            hex::decode(c)
                .ok()
                .filter(|b| b.len() >= 9 && b.len() <= 512)
                .ok_or_else(|| ApiError::invalid_field("before", "not a cursor from this list"))?,
        ),
        None => None,
    };
    let (results, next) = ctx
        .store()
        .results_page(&id, since, before.as_deref(), limit)?;
    let views: Vec<ResultView> = results.iter().map(ResultView::from).collect();
    Ok(super::page::paged(views, next.map(hex::encode)))
}
