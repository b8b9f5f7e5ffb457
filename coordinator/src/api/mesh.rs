//! `/v1/mesh`: whether regions cannot vote, and which.

use axum::extract::State;
use axum::response::IntoResponse;

use super::alert_views as v;
use super::{data, ApiResult, Caller};
use crate::context::Context;

/// `GET /v1/mesh`: whether regions cannot vote, and which.
pub(super) async fn mesh(State(ctx): State<Context>, _c: Caller) -> ApiResult {
    let store = ctx.store();
    Ok(data(v::mesh(&store.mesh_state()?, store.mesh_entries()?)).into_response())
}
