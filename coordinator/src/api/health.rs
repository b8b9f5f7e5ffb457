//! `/readyz`: whether this coordinator can serve (it knows a leader).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use crate::context::Context;

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
