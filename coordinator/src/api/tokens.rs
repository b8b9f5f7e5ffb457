//! `/v1/join-tokens`: tokens that let an edge node enrol.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::page::{paged, PageQuery};
use super::views::rfc3339;
use super::{data, ApiResult, Caller};
use crate::auth::new_join_token;
use crate::context::Context;
use crate::now_ms;
use crate::ops;
use netpulse_engine::command::Command;

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
