//! The NetPulse coordinator: the runtime around `netpulse-engine`.
//!
//! The rules and the replicated state machine live in `netpulse-engine`; this crate carries
//! them over sled, Raft, QUIC and HTTP. Layers, bottom up; a module imports only from layers
//! below it (`tests/layers.rs` reads the source and fails on a cycle or a broken rule):
//!
//! 1. **State**: [`store`] (the engine's tables in sled, and the signals readers wait on),
//!    [`ca`] (cluster CA and this coordinator's TLS identity), [`auth`] (keys and tokens).
//! 2. **Consensus**: [`raft`] (openraft log store, state machine adapter, peer network) and
//!    [`cluster`] (messages between coordinators, the peer client, membership, joining).
//! 3. **Shared handle**: [`context`], the write path every part below uses (forwarding to
//!    the leader, typed responses), and the in-process counters it carries
//!    ([`metrics::registry`]: atomics over plain values, importing only
//!    [`metrics::exposition`]'s types, so it sits with the context although `/metrics` is a
//!    service).
//! 4. **Services**: [`edge`] (enrolment, sessions, ingest, the assignment publisher),
//!    [`drivers`] (heartbeat, ticker, placer, dispatcher), [`api`] and [`web`] (the front
//!    doors), [`metrics`] (`/metrics` for Prometheus), [`apply`] (config-as-code).
//! 5. **Entry points**: [`quic`] (the one UDP endpoint, ALPN routing to [`edge`] and
//!    [`cluster`]), [`http`] (the one HTTP app mounting [`api`] and [`web`]), and [`node`],
//!    which starts everything (`netpulse coordinator` and `netpulse up` call [`node::start`]).
//!
//! Must not import: nothing below layer 5 imports [`quic`], [`http`] or [`node`]; [`api`] does
//! not import [`web`] (the UI may use API views, not the reverse); no driver imports another.

pub mod api;
pub mod apply;
pub mod auth;
pub mod ca;
pub mod cluster;
pub mod context;
pub mod drivers;
pub mod edge;
pub mod http;
pub mod metrics;
pub mod node;
pub mod ops;
pub mod quic;
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
