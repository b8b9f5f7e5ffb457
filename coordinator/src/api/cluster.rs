//! `/v1/cluster`: the coordinators, and removing one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::error::ApiError;
use super::{data, ApiResult, Caller};
use crate::context::Context;

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
