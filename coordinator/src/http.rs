//! The HTTP application: health probes, the REST API under `/v1` ([`crate::api`]) and the web
//! UI ([`crate::web`]), with the limits every route shares.
//!
//! The one place both front doors are mounted, so neither needs to know the other exists.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::api::error::ApiError;
use crate::context::Context;

/// Largest accepted request body.
pub use crate::api::MAX_BODY;

/// The whole HTTP application: health, API and web UI.
pub fn app(ctx: Context) -> Router {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(crate::api::readyz))
        .nest("/v1", crate::api::router())
        .merge(crate::web::router())
        .fallback(|| async { ApiError::not_found("route") })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(ctx)
}
