//! Limits and checks for the free-text fields of alerting resources (names, titles, updates).

use super::error::ApiError;

/// Longest name or title.
pub(super) const MAX_NAME: usize = 200;
/// Longest incident update or root cause.
pub(super) const MAX_TEXT: usize = 10_000;

pub(super) fn name_field(field: &str, s: &str) -> Result<String, ApiError> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > MAX_NAME {
        return Err(ApiError::invalid_field(
            field,
            format!("must be 1 to {MAX_NAME} characters"),
        ));
    }
    Ok(s.to_owned())
}

pub(super) fn text_field(field: &str, s: &str) -> Result<String, ApiError> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > MAX_TEXT {
        return Err(ApiError::invalid_field(
            field,
            format!("must be 1 to {MAX_TEXT} characters"),
        ));
    }
    Ok(s.to_owned())
}
