//! History that outlives raw results: the decided-state timeline, rollups, and the uptime
//! arithmetic over them. Pure: values in, values out; the state machine stores them
//! (`state/history.rs`) and prunes by its retention (`state/retention.rs`).
//!
//! - [`latency`]: a mergeable latency histogram (fixed log buckets), so hourly buckets add up
//!   to a day, and regions to a monitor, without keeping samples.
//! - [`rollup`]: what one (monitor, region, resolution, bucket) keeps: checks, failures by
//!   error class, latency.
//! - [`timeline`]: the decided states a monitor went through, as intervals.
//! - [`uptime`]: uptime and downtime of a range, from the timeline, and how partial, unknown
//!   and maintenance time counts (defined once, here).

pub mod latency;
pub mod rollup;
pub mod timeline;
pub mod uptime;

pub use latency::Latency;
pub use rollup::{Resolution, Rollup};
pub use timeline::{Span, TimelineState};
pub use uptime::{StateSeconds, Uptime};
