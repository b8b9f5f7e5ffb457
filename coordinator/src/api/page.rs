//! `?limit=&cursor=` on list endpoints, and the `next_cursor` that answers it.
//!
//! Every list is ordered by a stable key and read from after the cursor, so paging through a
//! list that changes meanwhile returns every record that existed throughout exactly once. The
//! cursor is opaque to clients (today the last record's id).

use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;

/// Most records per page, and the default: large enough that small installations see every
/// record in one call, small enough that one response stays well under a megabyte.
pub const MAX_LIMIT: usize = 1000;

/// The paging part of a list request.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PageQuery {
    limit: Option<usize>,
    cursor: Option<String>,
}

/// A validated page request.
pub(super) struct Paging {
    pub limit: usize,
    pub after: Option<String>,
}

impl PageQuery {
    pub(super) fn paging(self) -> Result<Paging, ApiError> {
        let limit = self.limit.unwrap_or(MAX_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid_field(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        if self
            .cursor
            .as_ref()
            .is_some_and(|c| c.is_empty() || c.len() > 128)
        {
            return Err(ApiError::invalid_field(
                "cursor",
                "not a cursor from this list",
            ));
        }
        Ok(Paging {
            limit,
            after: self.cursor,
        })
    }
}

/// `{"data": [...], "next_cursor": "..." | null}`.
pub(super) fn paged(
    items: impl serde::Serialize,
    next: Option<String>,
) -> axum::response::Response {
    Json(json!({ "data": items, "next_cursor": next })).into_response()
}
