//! Sample records: the engine's own fixtures ([`netpulse_engine::fixtures`]), re-exported so a
//! test of any crate finds every shared fixture in this crate. Override the fields a test is
//! about with struct update syntax:
//!
//! ```
//! use netpulse_test_support::fixtures::test_node;
//!
//! let node = netpulse_engine::model::EdgeNode {
//!     id: "edge-web-1".into(),
//!     ..test_node("eu-west")
//! };
//! assert_eq!(node.region, "eu-west");
//! ```

pub use netpulse_engine::fixtures::{exercise, test_monitor, test_node, test_result};
