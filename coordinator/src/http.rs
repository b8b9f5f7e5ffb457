//! The HTTP application: health probes, the REST API under `/v1` ([`crate::api`]), Prometheus
//! metrics at `/metrics` ([`crate::metrics`]) and the web UI ([`crate::web`]), with the limits
//! every route shares.
//!
//! The one place both front doors are mounted, so neither needs to know the other exists.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
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
            // Prometheus asks for gzip; a 10,000-monitor scrape is 60 MB of text, a few MB
            // compressed. Only here: the UI's event stream must not wait on a compressor.
            get(crate::metrics::scrape)
                .layer::<_, std::convert::Infallible>(axum::Extension(metrics_allow))
                .layer::<_, std::convert::Infallible>(
                    tower_http::compression::CompressionLayer::new(),
                ),
        )
        .nest("/v1", crate::api::router())
        .merge(crate::web::router())
        .fallback(|| async { ApiError::not_found("route") })
        .layer(axum::middleware::from_fn_with_state(ctx.clone(), record))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(ctx)
}

/// Times every request for `netpulse_http_request_duration_seconds`, labelled with the route
/// template axum matched (`/v1/monitors/{id}`), never the raw path: ids and probing clients'
/// made-up paths would make a series each. Unmatched requests share `unmatched`. The time is
/// to the response head; a streamed body (the UI's event stream) is not waited for.
async fn record(State(ctx): State<Context>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let method = req.method().clone();
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    ctx.metrics().http_request(
        route.as_deref().unwrap_or("unmatched"),
        method_label(&method),
        resp.status().as_u16(),
        started.elapsed(),
    );
    resp
}

/// The method as a label: the standard ones by name, anything else as `other`, so a client
/// inventing methods cannot add series.
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
