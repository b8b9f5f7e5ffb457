//! Coordinators talking to each other: Raft RPCs, forwarded writes, membership and joining,
//! all over QUIC with mutual TLS from the cluster CA.
//!
//! - [`messages`]: the peer protocol.
//! - [`transport`]: pooled client connections to peers.
//! - [`server`]: answering peers' RPCs on the shared QUIC endpoint.
//! - [`join`]: a new coordinator joining with the cluster's join secret.
//! - [`membership`]: adding and removing members, cluster status, leader lookup.

pub mod join;
pub mod membership;
pub mod messages;
pub mod server;
pub mod transport;
