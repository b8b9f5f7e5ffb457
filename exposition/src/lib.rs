//! What the coordinator's and the edge node's `/metrics` share: writing Prometheus text 0.0.4
//! or OpenMetrics 1.0 ([`Writer`]), a lock-free fixed-bucket histogram ([`AtomicHistogram`]),
//! and the process's own resources under the names Prometheus client libraries use
//! ([`process`]). Pure and dependency-free: each binary decides its own metric names and
//! serves them over its own HTTP stack.

mod histogram;
pub mod process;
mod text;

pub use histogram::AtomicHistogram;
pub use process::ProcessSample;
pub use text::{escape_label_value, push_label, Format, HistogramValues, Type, Writer};
