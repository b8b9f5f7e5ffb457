//! Route handlers. Each one authenticates through [`Caller`], validates, then reads the state or
//! writes through Raft.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::monitor_input::{self, MonitorInput};
use super::views::{parse_time, rfc3339, MonitorView, NodeView, ResultView};
use super::{Caller, JsonBody};
use crate::auth::new_join_token;
use crate::context::Context;
use crate::now_ms;
use crate::ops;
use netpulse_engine::command::Command;
use netpulse_engine::model::Monitor;

use super::page::{paged, PageQuery};

pub(super) type ApiResult = Result<axum::response::Response, ApiError>;

pub(super) fn data(v: impl serde::Serialize) -> Json<serde_json::Value> {
    Json(json!({ "data": v }))
}

fn monitor_view(ctx: &Context, m: &Monitor) -> Result<MonitorView, ApiError> {
    Ok(MonitorView::build(
        m,
        &ctx.store().latest(&m.id)?,
        ctx.store().monitor_health(&m.id)?.as_ref(),
        ctx.store().log_time(now_ms()),
    ))
}

pub async fn readyz(State(ctx): State<Context>) -> impl IntoResponse {
    let leader = ctx.raft().current_leader().await;
    let status = if leader.is_some() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({"ready": leader.is_some(), "leader": leader})),
    )
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
    let v = monitor_input::parse(input, |id| Ok(ctx.store().channel(id)?.is_some()))?;
    let monitor = v.create(now_ms());
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
    let v = monitor_input::parse(input, |id| Ok(ctx.store().channel(id)?.is_some()))?;
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
    let results = ctx.store().results(&id, since, limit)?;
    let views: Vec<ResultView> = results.iter().map(ResultView::from).collect();
    Ok(data(views).into_response())
}

pub(super) async fn list_nodes(
    State(ctx): State<Context>,
    _c: Caller,
    Query(q): Query<PageQuery>,
) -> ApiResult {
    let p = q.paging()?;
    let store = ctx.store();
    let page = store.nodes_page(p.after.as_deref(), p.limit)?;
    let views = page
        .items
        .iter()
        .map(|n| Ok(NodeView::new(n, &store.node_ingest(&n.id)?)))
        .collect::<Result<Vec<_>, netpulse_engine::state::StateError>>()?;
    Ok(paged(views, page.next))
}

pub(super) async fn get_node(
    State(ctx): State<Context>,
    _c: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let n = ctx
        .store()
        .node(&id)?
        .ok_or_else(|| ApiError::not_found(format!("node {id}")))?;
    let ingest = ctx.store().node_ingest(&id)?;
    Ok(data(NodeView::new(&n, &ingest)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TokenInput {
    description: Option<String>,
    ttl_s: Option<i64>,
}

/// Default lifetime of a join token.
pub const DEFAULT_TOKEN_TTL_S: i64 = 24 * 3600;

pub(super) async fn create_token(
    State(ctx): State<Context>,
    caller: Caller,
    body: axum::body::Bytes,
) -> ApiResult {
    caller.require_admin()?;
    let input: TokenInput = if body.iter().all(u8::is_ascii_whitespace) {
        TokenInput::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    };
    let ttl_s = input.ttl_s.unwrap_or(DEFAULT_TOKEN_TTL_S);
    if !(60..=366 * 24 * 3600).contains(&ttl_s) {
        return Err(ApiError::invalid_field(
            "ttl_s",
            "must be between 60 and 31622400",
        ));
    }
    let description = input.description.unwrap_or_default();
    if description.chars().count() > 200 {
        return Err(ApiError::invalid_field(
            "description",
            "at most 200 characters",
        ));
    }
    let (token, record) = new_join_token(
        &ctx.ca().fingerprint(),
        &description,
        now_ms(),
        ttl_s * 1000,
    );
    let expires = record.expires_at_ms;
    ops::write_done(&ctx, Command::CreateJoinToken(record)).await?;
    let body = json!({"token": token.to_string(), "id": token.id, "expires_at": rfc3339(expires)});
    Ok((StatusCode::CREATED, data(body)).into_response())
}

pub(super) async fn list_tokens(
    State(ctx): State<Context>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> ApiResult {
    caller.require_admin()?;
    let p = q.paging()?;
    let page = ctx.store().tokens_page(p.after.as_deref(), p.limit)?;
    let tokens: Vec<serde_json::Value> = page
        .items
        .iter()
        .map(|t| {
            json!({"id": t.id, "description": t.description, "created_at": rfc3339(t.created_at_ms),
                   "expires_at": rfc3339(t.expires_at_ms), "revoked": t.revoked})
        })
        .collect();
    Ok(paged(tokens, page.next))
}

pub(super) async fn revoke_token(
    State(ctx): State<Context>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    caller.require_admin()?;
    ops::write_done(&ctx, Command::RevokeJoinToken { id }).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn cluster_status(State(ctx): State<Context>, _c: Caller) -> ApiResult {
    let s = crate::cluster::membership::status(&ctx).await;
    Ok(data(s).into_response())
}

pub(super) async fn remove_member(
    State(ctx): State<Context>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    caller.require_admin()?;
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("coordinator {id}")))?;
    match crate::cluster::membership::remove_member(&ctx, id).await {
        Ok(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(crate::cluster::messages::ForwardError::NotLeader { .. }) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "no leader; retry later",
        )),
        Err(crate::cluster::messages::ForwardError::Failed(why)) => Err(ApiError::conflict(why)),
    }
}
