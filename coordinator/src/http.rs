//! The HTTP application: health probes, the REST API under `/v1` ([`crate::api`]), Prometheus
//! metrics at `/metrics` ([`crate::metrics`]) and the web UI ([`crate::web`]), with the limits
//! every route shares.
//!
//! The one place both front doors are mounted, so neither needs to know the other exists.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::api::error::ApiError;
use crate::context::Context;

/// Largest accepted request body.
pub use crate::api::MAX_BODY;

/// The whole HTTP application: health, API, metrics and web UI; `/metrics` needs an API key.
pub fn app(ctx: Context) -> Router {
    app_with(ctx, crate::metrics::Allow::default())
}

/// [`app`], where peers in `metrics_allow` may read `/metrics` without a key. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` so the peer address is known.
pub fn app_with(ctx: Context, metrics_allow: crate::metrics::Allow) -> Router {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(crate::api::readyz))
        .route(
            "/metrics",
            get(crate::metrics::scrape).layer(axum::Extension(metrics_allow)),
        )
        .nest("/v1", crate::api::router())
        .merge(crate::web::router())
        .fallback(|| async { ApiError::not_found("route") })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(ctx)
}
