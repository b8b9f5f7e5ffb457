//! Deciding a monitor's state from its regions' results: pure logic, no clock, no storage.
//!
//! The state machine feeds every committed result into a region's [`vote::RegionTrack`] and
//! asks [`quorum::decide`] for the monitor's state whenever a result or a leader tick arrives.
//! Both take time as an argument (the leader's clock, carried in the log entry), so every
//! replica reaches the same decision and a new leader continues where the old one stopped.
//!
//! # Rules
//! - A region votes down after `confirm` consecutive failures and up again after `recover`
//!   consecutive successes ([`vote`]).
//! - A region abstains while its latest vote is stale (no fresh result for
//!   `2 x interval + timeout`) or its node reports itself impaired (canary checks failing).
//! - The monitor is down when down votes reach the quorum, unknown when fewer regions than the
//!   quorum can vote, degraded when some (but not enough) regions vote down or report degraded,
//!   and up otherwise ([`quorum`]).

pub mod maintenance;
pub mod public;
pub mod quorum;
pub mod vote;
