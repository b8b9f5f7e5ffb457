//! Applying result batches: dedup by node sequence, storage, votes, and per-node ingest health.
//!
//! Time here is the leader's: `received_at_ms` is stamped when the leader proposes the entry,
//! and a result counts as measured at `received_at_ms - age_ms`, its age on the node's own clock.
//! Neither a node's clock offset nor that of the coordinator holding its session enters a
//! decision; the offset is recorded per node ([`NodeIngestStats::clock_offset_ms`]) so operators
//! can see it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::command::{CommandResponse, IngestBatch, IngestItem};
use super::history::RollupBatch;
use super::model::{Monitor, RegionLatest};
use super::{decisions, from_json, json, latest_key, result_key, stored_result};
use super::{State, StateError};
use crate::tables::{Table, Tables};

/// A node whose clock differs from the leader's by more than this is flagged in `/v1/nodes`
/// and the UI. Decisions do not depend on it; people reading raw node timestamps (logs on the
/// node, its outbox) do.
pub const CLOCK_OFFSET_WARN_MS: i64 = 5_000;

/// What the coordinators know about a node's deliveries besides its results. Stored per node
/// in `sm_node_ingest` (JSON, so fields can be added).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeIngestStats {
    /// Results refused at the door (broken limits, out of order) and committed as rejected.
    #[serde(default)]
    pub results_rejected: u64,
    /// The most recent refusal.
    #[serde(default)]
    pub last_rejection: Option<Rejection>,
    /// Node clock minus leader clock when its newest batch arrived, ms (transit included, so a
    /// healthy node shows a few ms below zero). `None` until a `netpulse-edge/2` batch arrived.
    #[serde(default)]
    pub clock_offset_ms: Option<i64>,
    /// Leader time of that measurement, Unix ms.
    #[serde(default)]
    pub clock_measured_at_ms: i64,
}

/// One refused result, as shown to operators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    /// Its sequence number.
    pub seq: u64,
    /// Its monitor.
    pub monitor_id: String,
    /// Why, in words (names the limit and the numbers).
    pub reason: String,
    /// Leader time it was refused, Unix ms.
    pub at_ms: i64,
}

impl<T: Tables + Clone> State<T> {
    /// Ingest statistics of `node` (defaults when it never delivered).
    pub fn node_ingest(&self, node: &str) -> Result<NodeIngestStats, StateError> {
        Ok(self.get_json(Table::NodeIngest, node)?.unwrap_or_default())
    }

    pub(super) fn apply_ingest(
        &self,
        batch: &IngestBatch,
        index: u64,
    ) -> Result<CommandResponse, StateError> {
        let now = batch.received_at_ms;
        let (mut stored, mut duplicates, mut dropped, mut rejected) = (0u64, 0u64, 0u64, 0u64);
        let mut committed = Vec::with_capacity(batch.per_node.len());
        let mut monitors: BTreeMap<String, Option<Monitor>> = BTreeMap::new();
        let mut votes = decisions::VoteBatch::default();
        let mut rollups = RollupBatch::default();
        for nr in &batch.per_node {
            let Some(mut node) = self.node(&nr.node)? else {
                dropped += nr.items.len() as u64;
                continue;
            };
            let mut high = self.committed_seq(&nr.node)?;
            let (stored_before, duplicates_before) = (stored, duplicates);
            let mut stats = self.node_ingest(&nr.node)?;
            let stats_before = stats.clone();
            if let Some(sent) = nr.sent_at_ms {
                stats.clock_offset_ms = Some(sent.saturating_sub(now));
                stats.clock_measured_at_ms = now;
            }
            let results = self.table(Table::Results);
            let mut latest: BTreeMap<String, RegionLatest> = BTreeMap::new();
            for item in &nr.items {
                if item.seq() <= high {
                    duplicates += 1;
                    continue;
                }
                high = item.seq();
                let aged = match item {
                    IngestItem::Result(aged) => aged,
                    IngestItem::Rejected(r) => {
                        rejected += 1;
                        stats.results_rejected += 1;
                        stats.last_rejection = Some(Rejection {
                            seq: r.seq,
                            monitor_id: r.monitor_id.clone(),
                            reason: r.reason.to_string(),
                            at_ms: now,
                        });
                        continue;
                    }
                };
                let r = &aged.result;
                let measured_at_ms = measured_at(now, aged.age_ms);
                let monitor = match monitors.get(&r.monitor_id) {
                    Some(m) => m.clone(),
                    None => {
                        let m = self.monitor(&r.monitor_id)?;
                        monitors.insert(r.monitor_id.clone(), m.clone());
                        m
                    }
                };
                // Results for deleted monitors or regions the monitor no longer names are dropped,
                // but still advance the sequence so the node stops resending them.
                match monitor {
                    Some(m) if m.covers(&node.region) => {}
                    _ => {
                        dropped += 1;
                        continue;
                    }
                }
                if let Some(pinned) =
                    self.pin_first_host_key(&r.monitor_id, &r.facts, index, now)?
                {
                    monitors.insert(r.monitor_id.clone(), Some(pinned));
                }
                if let Some(m) = monitors.get(&r.monitor_id).and_then(Option::as_ref) {
                    self.observe(&mut votes, m, &node.region, r, measured_at_ms, now)?;
                    self.check_tls_expiry(m, r, now, index)?;
                }
                let sr = stored_result(r, &node, measured_at_ms);
                rollups.record(&r.monitor_id, &sr);
                let key = result_key(&r.monitor_id, measured_at_ms, &node.id, r.seq);
                let encoded = postcard::to_allocvec(&sr).map_err(|e| StateError::Corrupt {
                    tree: "sm_results",
                    detail: format!("cannot encode result {} of {}: {e}", r.seq, node.id),
                })?;
                results.insert(key, encoded)?;
                let l = RegionLatest {
                    region: node.region.clone(),
                    node: node.id.clone(),
                    status: r.status,
                    checked_at_ms: measured_at_ms,
                    duration_us: r.duration_us,
                    error: r.error.clone(),
                };
                match latest.get(&r.monitor_id) {
                    Some(prev) if prev.checked_at_ms > l.checked_at_ms => {}
                    _ => {
                        latest.insert(r.monitor_id.clone(), l);
                    }
                }
                stored += 1;
            }
            for (monitor_id, l) in latest {
                let key = latest_key(&monitor_id, &l.region);
                let newer = match self.table(Table::Latest).get(&key)? {
                    Some(prev) => {
                        from_json::<RegionLatest>("sm_latest", &prev)?.checked_at_ms
                            <= l.checked_at_ms
                    }
                    None => true,
                };
                if newer {
                    self.table(Table::Latest).insert(key, json(&l))?;
                }
            }
            self.table(Table::NodeSeq)
                .insert(nr.node.as_bytes(), high.to_be_bytes())?;
            if stats != stats_before {
                self.table(Table::NodeIngest)
                    .insert(nr.node.as_bytes(), json(&stats))?;
            }
            node.last_seen_ms = node.last_seen_ms.max(now);
            node.results_stored += stored - stored_before;
            node.results_duplicate += duplicates - duplicates_before;
            self.table(Table::Nodes)
                .insert(node.id.as_bytes(), json(&node))?;
            committed.push((nr.node.clone(), high));
        }
        self.write_rollups(rollups)?;
        let changed = self.flush_votes(votes)?;
        for m in monitors.values().flatten() {
            if changed.contains(&m.id) {
                self.evaluate(m, now, index)?;
            }
        }
        self.update_mesh(now, index)?;
        self.note(|c| c.results = true);
        Ok(CommandResponse::Ingested {
            stored,
            duplicates,
            dropped,
            rejected,
            committed,
        })
    }
}

/// When a result was measured, on the leader's clock: arrival minus the age the node reported.
fn measured_at(received_at_ms: i64, age_ms: u64) -> i64 {
    received_at_ms.saturating_sub(i64::try_from(age_ms).unwrap_or(i64::MAX))
}
