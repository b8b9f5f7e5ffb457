//! End-to-end tests: the real `netpulse` binary, real QUIC with mutual TLS, real Raft storage,
//! real probes against local servers.
//!
//! Layout (after openraft's test naming): `t05` the `netpulse up` demo, `t10` checks flowing end
//! to end, `t20` durability under kill -9, `t30` authentication and refusal, `t40` API input
//! handling, `t50` the coordinator cluster, `t60` quorum decisions, incidents and alerts, `t70`
//! the chaos suite (seeded faults, invariants checked every round), `t80` `/metrics` read by
//! promtool and a real Prometheus, `t85` history: retention, rollups, uptime and SLA reports.

mod support;

mod t05_up;
mod t10_checks;
mod t15_limits;
mod t20_durability;
mod t30_security;
mod t40_api;
mod t50_cluster;
mod t55_clocks;
mod t60_alerts;
mod t70_chaos;
mod t80_metrics;
mod t85_history;
