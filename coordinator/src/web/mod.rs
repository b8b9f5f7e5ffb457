//! The operator web UI.

use axum::Router;

use crate::context::Context;

/// Routes of the web UI.
pub fn router() -> Router<Context> {
    Router::new()
}
