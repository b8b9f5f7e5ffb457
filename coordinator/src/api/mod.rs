//! The REST API under `/v1` (mounted by [`crate::http`]).
//!
//! Every `/v1` route takes `Authorization: Bearer <api key>` (the web UI sends the same key in an
//! HttpOnly cookie instead). Reads are served from this coordinator's state; writes go through
//! Raft and answer once applied. Bodies are limited in size and unknown fields are refused.

pub mod alert_views;
pub mod error;
pub mod views;

mod channels;
mod cluster;
mod health;
pub mod history;
mod incidents;
#[cfg(test)]
mod input_round_trip;
mod maintenance;
mod mesh;
mod monitors;
mod nodes;
mod page;
mod text;
mod tokens;

pub use health::readyz;

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::routing::{get, post};
use axum::Router;

use crate::auth::{verify_api_key, AuthError};
use crate::context::Context;
use error::ApiError;
use netpulse_engine::model::{ApiKeyRecord, Role};

/// Name of the cookie the web UI stores the API key in.
pub const SESSION_COOKIE: &str = "netpulse_key";

/// Largest accepted request body.
pub const MAX_BODY: usize = 256 * 1024;

/// The `/v1` routes.
pub fn router() -> Router<Context> {
    Router::new()
        .route(
            "/monitors",
            get(monitors::list_monitors).post(monitors::create_monitor),
        )
        .route(
            "/monitors/{id}",
            get(monitors::get_monitor)
                .put(monitors::update_monitor)
                .delete(monitors::delete_monitor),
        )
        .route("/monitors/{id}/pause", post(monitors::pause_monitor))
        .route("/monitors/{id}/resume", post(monitors::resume_monitor))
        .route("/monitors/{id}/results", get(monitors::monitor_results))
        .route("/monitors/{id}/uptime", get(history::monitor_uptime))
        .route("/reports/sla", get(history::sla_report))
        .route("/nodes", get(nodes::list_nodes))
        .route("/nodes/{id}", get(nodes::get_node))
        .route(
            "/join-tokens",
            get(tokens::list_tokens).post(tokens::create_token),
        )
        .route(
            "/join-tokens/{id}",
            axum::routing::delete(tokens::revoke_token),
        )
        .route(
            "/channels",
            get(channels::list_channels).post(channels::create_channel),
        )
        .route(
            "/channels/{id}",
            get(channels::get_channel)
                .put(channels::update_channel)
                .delete(channels::delete_channel),
        )
        .route("/channels/{id}/test", post(channels::test_channel))
        .route(
            "/incidents",
            get(incidents::list_incidents).post(incidents::create_incident),
        )
        .route("/incidents/{id}", get(incidents::get_incident))
        .route(
            "/incidents/{id}/acknowledge",
            post(incidents::acknowledge_incident),
        )
        .route("/incidents/{id}/resolve", post(incidents::resolve_incident))
        .route(
            "/incidents/{id}/updates",
            post(incidents::add_incident_update),
        )
        .route(
            "/incidents/{id}/root-cause",
            axum::routing::put(incidents::set_root_cause),
        )
        .route(
            "/maintenance",
            get(maintenance::list_maintenance).post(maintenance::create_maintenance),
        )
        .route(
            "/maintenance/{id}",
            axum::routing::delete(maintenance::delete_maintenance),
        )
        .route("/mesh", get(mesh::mesh))
        .route("/cluster", get(cluster::cluster_status))
        .route(
            "/cluster/members/{id}",
            axum::routing::delete(cluster::remove_member),
        )
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route",
            )
        })
}

/// What every route answers: a response, or an API error.
pub(crate) type ApiResult = Result<axum::response::Response, ApiError>;

/// Wraps a body as `{"data": ...}`, the shape of every successful answer.
pub(crate) fn data(v: impl serde::Serialize) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "data": v }))
}

/// A fresh random id such as `mon_3f2a9c1b5d7e0a44`.
pub fn new_id(prefix: &str) -> String {
    use rand::RngCore;
    let mut b = [0u8; 8];
    rand::rng().fill_bytes(&mut b);
    format!("{prefix}_{}", hex::encode(b))
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub ApiKeyRecord);

impl Caller {
    /// Refuses callers whose role cannot change configuration.
    pub fn require_write(&self) -> Result<(), ApiError> {
        if self.0.role.can_write() {
            Ok(())
        } else {
            Err(ApiError::forbidden("this API key is read-only"))
        }
    }

    /// Refuses callers that are not admins.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.0.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden("admin API key required"))
        }
    }
}

/// The API key presented by a request: bearer header first, then the UI cookie.
pub fn presented_key(parts: &Parts) -> Option<String> {
    if let Some(v) = parts.headers.get(header::AUTHORIZATION) {
        let v = v.to_str().ok()?;
        let (scheme, key) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| key.trim().to_owned());
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
}

impl FromRequestParts<Context> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Context) -> Result<Self, Self::Rejection> {
        let key = presented_key(parts)
            .ok_or_else(|| ApiError::unauthorized("missing API key (Authorization: Bearer KEY)"))?;
        match verify_api_key(ctx.store(), &key) {
            Ok(record) => Ok(Caller(record)),
            Err(AuthError::State(e)) => Err(ApiError::internal(e)),
            Err(_) => Err(ApiError::unauthorized("invalid API key")),
        }
    }
}

/// A JSON body whose rejections are API errors.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct JsonBody<T>(pub T);

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        use axum::extract::rejection::JsonRejection as J;
        match r {
            J::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected Content-Type: application/json",
            ),
            J::BytesRejection(_) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("body larger than {MAX_BODY} bytes or unreadable"),
            ),
            other => ApiError::bad_request(other.body_text()),
        }
    }
}
