//! The NetPulse coordinator.
//!
//! # Layout
//! - [`state`]: the replicated application state (monitors, nodes, tokens, keys, results) and
//!   the commands that change it.
//! - [`raft`]: openraft over sled: log store, state machine adapter, peer network.
//! - [`context`]: the handle every part of a running coordinator shares, and the write path.
//! - [`ca`]: the cluster CA and this coordinator's TLS identity in the data directory.
//! - [`auth`]: API keys and join tokens (generation, hashing, verification).
//! - [`decide`]: pure voting and quorum rules that turn per-region results into a monitor's
//!   state, and maintenance windows.
//! - [`assign`]: pure placement of monitors on edge nodes (rendezvous hashing).
//! - [`placement`]: node liveness and the leader's committed placement.
//! - [`dispatch`]: on the leader, the tick that brings time into the log and the sender of
//!   committed notifications.
//! - [`edge`]: the QUIC endpoint edge nodes connect to: enrolment, sessions, result ingest.
//! - [`apply`]: config-as-code, monitors matched by name.
//! - [`api`]: the REST API under `/v1` and its authentication.
//! - [`web`]: the operator web UI with live updates.
//! - [`node`]: starts everything; `netpulse coordinator` and `netpulse up` call
//!   [`node::start`].

pub mod api;
pub mod apply;
pub mod auth;
pub mod ca;
pub mod cluster;
pub mod context;
pub mod dispatch;
pub mod edge;
pub mod node;
pub mod placement;
pub mod raft;
pub mod store;
pub mod web;

/// Current time in Unix milliseconds (only for values put into commands, never in apply).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
