//! NetPulse's replicated state machine and every rule it applies.
//!
//! Commands come in ([`command::Command`]), records are kept in [`tables::Tables`], and each
//! applied command returns its response and what it changed ([`state::Applied`]). Nothing
//! here reads a clock, spawns a task, or names a storage engine or a network: time enters
//! only through commands (the leader's tick and ingest times), and effects leave as values.
//! That keeps every replica deterministic and lets the whole machine be tested in memory.
//!
//! Layers, each using only those above it:
//! - [`tables`]: the storage seam (the trait, its in-memory implementation, batches);
//! - [`decide`], [`placement`] and [`history`]: pure rules (votes, quorum, maintenance,
//!   placement, rollups, uptime);
//! - [`state`]: records, commands, and applying them.

pub mod decide;
pub mod fixtures;
pub mod history;
pub mod input;
pub mod message;
pub mod placement;
pub mod state;
pub mod tables;

pub use state::{alerting, command, ingest, model, status_pages};
