//! The one error type of this crate.
//!
//! Rendering is pure and its inputs are plain data, so in practice neither variant occurs; they
//! exist because askama and serde_json report failures through `Result` and a public page must
//! never be served empty or truncated in silence. The caller logs the source and answers 500.

/// Why a document could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The HTML template failed (askama reports formatter errors this way).
    #[error("rendering the status page HTML failed")]
    Template(#[source] askama::Error),
    /// A Statuspage API document could not be serialized.
    #[error("serializing a Statuspage API document failed")]
    Json(#[source] serde_json::Error),
}
