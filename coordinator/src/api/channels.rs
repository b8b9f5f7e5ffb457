//! `/v1/channels`: alert channels.
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
use super::page::{paged, PageQuery};
use super::text::name_field;
use super::{data, new_id, ApiResult, Caller, JsonBody};
use crate::context::Context;
use crate::now_ms;
use crate::ops;
use netpulse_engine::alerting::ChannelRecord;
use netpulse_engine::command::Command;
use netpulse_engine::input::validate_tags;

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
