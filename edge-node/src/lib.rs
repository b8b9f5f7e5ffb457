//! The NetPulse edge node: runs the checks a coordinator assigns and streams the results back.
//!
//! # Layout
//! - The probes themselves live in [`netpulse_probes`] (one module per kind, registered in one
//!   place); the node builds one per assigned check and runs it when the scheduler says so.
//! - [`schedule`]: sans-I/O scheduler deciding which check is due when (with jitter).
//! - [`outbox`]: durable result queue (an append-only segment log); results leave it only when
//!   a coordinator has acknowledged them as committed.
//! - [`assignment`]: the last assignment on disk (one file, replaced atomically), so a
//!   restarted node measures before it reaches a coordinator.
//! - [`migrate`]: moves state written by older versions (the sled outbox) on start.
//! - [`session`]: the QUIC connection to a coordinator (enrolment, hello, assignments, results,
//!   acknowledgements), with reconnect and backoff.
//! - [`canary`]: the node's own network check; results measured while it fails are marked
//!   impaired and do not vote.
//! - [`lateness`]: how late checks start against their due time (a lock-free histogram the
//!   node summarises in its log once a minute).
//! - [`metrics`]: the node's own health for Prometheus (`--metrics-listen`): session, outbox,
//!   checks by kind and error class, probe durations, lateness, process resources.
//! - [`identity`]: key, certificate and node id on disk.
//! - [`wire`]: frames on QUIC streams.
//! - [`node`]: wires the pieces together; `run` is what `netpulse edge` calls.

pub mod assignment;
pub mod canary;
pub mod coordinators;
pub mod handover;
pub mod identity;
pub mod lateness;
pub mod metrics;
pub mod migrate;
pub mod node;
pub mod outbox;
mod quic;
pub mod schedule;
pub mod session;
pub mod wire;
