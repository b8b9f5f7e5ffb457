//! Machinery of the chaos suite (`tests/t70_chaos.rs`): a seeded schedule of faults against a
//! real mesh (three coordinators, two edge nodes in each of three regions), and the invariants
//! checked after every round.
//!
//! After the etcd robustness tests and Jepsen: the schedule is a pure function of the seed, so a
//! failing run is replayed with `NETPULSE_CHAOS_SEED=<seed>`; every check states what it proves
//! and panics with the seed and round.

pub mod alerts;
pub mod faults;
pub mod http;
pub mod leaders;
pub mod ledger;
pub mod mesh;
pub mod net;
pub mod outbox;
pub mod procs;
pub mod rng;
pub mod summary;
