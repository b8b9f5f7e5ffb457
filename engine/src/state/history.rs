//! Storing history: rollup buckets written with each result batch, the decided-state timeline
//! written at each change, and reading both back for uptime answers.
//!
//! The arithmetic lives in [`crate::history`]; this is where it meets the tables. Both tables
//! are replicated state like the rest (in snapshots, written only by applied commands), so
//! every replica answers the same uptime.

use std::collections::BTreeMap;
use std::ops::Bound;

use super::model::{Monitor, StoredResult};
use super::{ordered_i64, prefix, State, StateError};
use crate::decide::quorum::Health;
use crate::history::timeline::spans;
use crate::history::{Resolution, Rollup, StateSeconds, TimelineState, Uptime};
use crate::tables::{Table, Tables};

/// Rollup updates of one command, merged in memory so each bucket is read and written once
/// per batch however many results fall into it.
#[derive(Debug, Default)]
pub(super) struct RollupBatch(BTreeMap<Vec<u8>, Rollup>);

impl RollupBatch {
    /// Counts `r` (of `monitor`) into its hourly and daily bucket.
    pub(super) fn record(&mut self, monitor: &str, r: &StoredResult) {
        for res in Resolution::ALL {
            let key = rollup_key(monitor, res, res.bucket_start(r.checked_at_ms), &r.region);
            self.0.entry(key).or_default().record(r);
        }
    }
}

/// Key of a rollup bucket: `monitor \0 resolution start region`.
pub(super) fn rollup_key(monitor: &str, res: Resolution, start_ms: i64, region: &str) -> Vec<u8> {
    let mut k = rollup_prefix(monitor, res);
    k.extend_from_slice(&ordered_i64(start_ms));
    k.extend_from_slice(region.as_bytes());
    k
}

/// Keys of `monitor`'s buckets at `res`: `monitor \0 resolution`.
pub(super) fn rollup_prefix(monitor: &str, res: Resolution) -> Vec<u8> {
    let mut k = prefix(monitor);
    k.push(res.tag());
    k
}

/// Key of a timeline change point.
pub(super) fn timeline_key(monitor: &str, start_ms: i64) -> Vec<u8> {
    let mut k = prefix(monitor);
    k.extend_from_slice(&ordered_i64(start_ms));
    k
}

/// The time in an order-preserving 8-byte key part.
pub(super) fn time_of(bytes: &[u8]) -> Option<i64> {
    let b: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    Some((u64::from_be_bytes(b) ^ (1 << 63)) as i64)
}

fn corrupt(tree: &'static str, detail: impl Into<String>) -> StateError {
    StateError::Corrupt {
        tree,
        detail: detail.into(),
    }
}

impl<T: Tables + Clone> State<T> {
    /// Merges a batch's rollup updates into the stored buckets.
    pub(super) fn write_rollups(&self, batch: RollupBatch) -> Result<(), StateError> {
        let table = self.table(Table::Rollups);
        for (key, add) in batch.0 {
            let mut bucket = match table.get(&key)? {
                Some(v) => decode_rollup(&v)?,
                None => Rollup::default(),
            };
            bucket.merge(&add);
            table.insert(&key, encode_rollup(&bucket)?)?;
        }
        Ok(())
    }

    /// Appends `m`'s state to its timeline at `at_ms` when it differs from the last one
    /// recorded. `health` is the current decision (the stored one when `None`).
    pub(super) fn note_state(
        &self,
        m: &Monitor,
        health: Option<Health>,
        at_ms: i64,
    ) -> Result<(), StateError> {
        let health = match health {
            Some(h) => h,
            None => self
                .monitor_health(&m.id)?
                .map_or(Health::Unknown, |h| h.decision.health),
        };
        let state = TimelineState::of(health, self.in_maintenance(m, at_ms)?, m.paused);
        let last = self.last_state(&m.id)?;
        if last.map(|(_, s)| s) == Some(state) {
            return Ok(());
        }
        // Change points never go back in time: a command stamped by another clock (an
        // operator's edit) before the last change point starts at that point instead.
        let at = last.map_or(at_ms, |(t, _)| t.max(at_ms));
        self.table(Table::Timeline)
            .insert(timeline_key(&m.id, at), [state.code()])?;
        Ok(())
    }

    /// Records the start and end of maintenance windows in the timelines of the monitors they
    /// cover. Windows are few; monitors are only read when one starts or ends.
    pub(super) fn note_maintenance_flips(&self, now_ms: i64) -> Result<(), StateError> {
        const ACTIVE: &[u8] = b"maintenance_active";
        let windows = self.maintenances()?;
        let active: Vec<String> = windows
            .iter()
            .filter(|w| w.schedule.active(now_ms))
            .map(|w| w.id.clone())
            .collect();
        let before: Vec<String> = match self.table(Table::Meta).get(ACTIVE)? {
            Some(v) => super::from_json("sm_meta", &v)?,
            None => Vec::new(),
        };
        if active == before {
            return Ok(());
        }
        self.table(Table::Meta)
            .insert(ACTIVE, super::json(&active))?;
        // A window that ended or was deleted is no longer readable: every monitor is looked
        // at then. Starting windows name what they cover.
        let flipped: Vec<&crate::alerting::Maintenance> = windows
            .iter()
            .filter(|w| active.contains(&w.id) != before.contains(&w.id))
            .collect();
        let ended_unknown = before.iter().any(|id| !windows.iter().any(|w| &w.id == id));
        for m in self.monitors()? {
            if ended_unknown || flipped.iter().any(|w| w.covers(&m.id, &m.alerting.tags)) {
                self.note_state(&m, None, now_ms)?;
            }
        }
        Ok(())
    }

    fn last_state(&self, monitor: &str) -> Result<Option<(i64, TimelineState)>, StateError> {
        let p = prefix(monitor);
        let mut hi = p.clone();
        hi.extend_from_slice(&[0xff; 9]);
        let row = self
            .table(Table::Timeline)
            .scan(Bound::Included(&p), Bound::Excluded(&hi), true)
            .next()
            .transpose()?;
        row.map(|(k, v)| timeline_entry(&k, &v, p.len()))
            .transpose()
    }

    /// `monitor`'s change points that matter for `[from_ms, to_ms)`: the last one at or
    /// before `from_ms` (the state then) and every one after, up to `to_ms`.
    pub fn timeline(
        &self,
        monitor: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, TimelineState)>, StateError> {
        let p = prefix(monitor);
        let from = timeline_key(monitor, from_ms);
        let to = timeline_key(monitor, to_ms);
        let t = self.table(Table::Timeline);
        let mut out = Vec::new();
        if let Some((k, v)) = t
            .scan(Bound::Included(&p), Bound::Included(&from), true)
            .next()
            .transpose()?
        {
            out.push(timeline_entry(&k, &v, p.len())?);
        }
        if to_ms > from_ms {
            for row in t.scan(Bound::Excluded(&from), Bound::Excluded(&to), false) {
                let (k, v) = row?;
                out.push(timeline_entry(&k, &v, p.len())?);
            }
        }
        Ok(out)
    }

    /// `monitor`'s rollup buckets at `res` starting in `[from_ms, to_ms)`, as
    /// (start, region, bucket) in time order.
    pub fn rollups(
        &self,
        monitor: &str,
        res: Resolution,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, String, Rollup)>, StateError> {
        let p = rollup_prefix(monitor, res);
        let lo = rollup_key(monitor, res, from_ms, "");
        let hi = rollup_key(monitor, res, to_ms, "");
        let mut out = Vec::new();
        for row in
            self.table(Table::Rollups)
                .scan(Bound::Included(&lo), Bound::Excluded(&hi), false)
        {
            let (k, v) = row?;
            let rest = k.get(p.len()..).unwrap_or_default();
            let start = time_of(rest).ok_or_else(|| corrupt("sm_rollups", "short key"))?;
            let region = String::from_utf8_lossy(rest.get(8..).unwrap_or_default()).into_owned();
            out.push((start, region, decode_rollup(&v)?));
        }
        Ok(out)
    }

    /// Builds rollups from the raw results and starts each monitor's timeline at its current
    /// state, once, for a state from before history existed. Deterministic per replica: the
    /// rollups equal what incremental ingest would have built from the same results.
    pub(super) fn upgrade_history(&self) -> Result<(), StateError> {
        const DONE: &[u8] = b"history_v1";
        if self.table(Table::Meta).contains_key(DONE)? {
            return Ok(());
        }
        for m in self.monitors()? {
            let mut batch = RollupBatch::default();
            for row in self
                .table(Table::Results)
                .scan_prefix(prefix(&m.id))
                .values()
            {
                let r: StoredResult = postcard::from_bytes(&row?)
                    .map_err(|e| corrupt("sm_results", e.to_string()))?;
                batch.record(&m.id, &r);
            }
            self.write_rollups(batch)?;
            let (health, since) = match self.monitor_health(&m.id)? {
                Some(h) => (h.decision.health, h.since_ms),
                None => (Health::Unknown, m.created_at_ms),
            };
            self.note_state(&m, Some(health), since)?;
        }
        self.table(Table::Meta).insert(DONE, [1u8])?;
        Ok(())
    }
}

fn timeline_entry(
    key: &[u8],
    value: &[u8],
    prefix_len: usize,
) -> Result<(i64, TimelineState), StateError> {
    let at = key
        .get(prefix_len..)
        .and_then(time_of)
        .ok_or_else(|| corrupt("sm_timeline", "short key"))?;
    let state = value
        .first()
        .and_then(|c| TimelineState::from_code(*c))
        .ok_or_else(|| corrupt("sm_timeline", format!("state {value:?}")))?;
    Ok((at, state))
}

fn encode_rollup(r: &Rollup) -> Result<Vec<u8>, StateError> {
    postcard::to_allocvec(r).map_err(|e| corrupt("sm_rollups", e.to_string()))
}

fn decode_rollup(bytes: &[u8]) -> Result<Rollup, StateError> {
    postcard::from_bytes(bytes).map_err(|e| corrupt("sm_rollups", e.to_string()))
}

/// Buckets one uptime answer holds at most (90 days of hours is 2,160); a longer range is cut.
pub const MAX_BUCKETS: i64 = 2_200;

/// One bucket of an uptime answer.
#[derive(Debug, Clone, PartialEq)]
pub struct UptimeBucket {
    /// Bucket start, Unix ms.
    pub start_ms: i64,
    /// Time in each decided state within the bucket (up to `now`), ms.
    pub states: StateSeconds,
    /// Uptime by [`crate::history::uptime`]'s rules.
    pub uptime: Uptime,
    /// Every region's results merged.
    pub all: Rollup,
    /// Per region.
    pub regions: BTreeMap<String, Rollup>,
}

/// Uptime of a monitor over a range, bucket by bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct UptimeReport {
    /// Range start (aligned down to the step), Unix ms.
    pub from_ms: i64,
    /// Range end (aligned up to the step), Unix ms.
    pub to_ms: i64,
    /// Bucket width.
    pub step: Resolution,
    /// The whole range.
    pub states: StateSeconds,
    /// The whole range's uptime.
    pub uptime: Uptime,
    /// Buckets in time order, every one present (empty ones included).
    pub buckets: Vec<UptimeBucket>,
}

impl<T: Tables + Clone> State<T> {
    /// Uptime of `monitor` over `[from_ms, to_ms)` in buckets of `step`, with state time
    /// counted up to `now_ms` (the log's time). State time comes from the timeline, checks
    /// and latency from the rollups at `step`.
    pub fn uptime_report(
        &self,
        monitor: &str,
        from_ms: i64,
        to_ms: i64,
        step: Resolution,
        now_ms: i64,
    ) -> Result<UptimeReport, StateError> {
        let w = step.width_ms();
        let from = step.bucket_start(from_ms);
        let to = step
            .bucket_start(to_ms.saturating_sub(1))
            .saturating_add(w)
            .max(from);
        let changes = self.timeline(monitor, from, to)?;
        let mut buckets: Vec<UptimeBucket> = (0..(to - from) / w)
            .map(|i| {
                let start = from + i * w;
                let states = StateSeconds::of(&spans(&changes, start, (start + w).min(now_ms)));
                UptimeBucket {
                    start_ms: start,
                    states,
                    uptime: states.uptime(),
                    all: Rollup::default(),
                    regions: BTreeMap::new(),
                }
            })
            .collect();
        for (start, region, r) in self.rollups(monitor, step, from, to)? {
            let Some(b) = usize::try_from((start - from) / w)
                .ok()
                .and_then(|i| buckets.get_mut(i))
            else {
                continue;
            };
            b.all.merge(&r);
            b.regions.entry(region).or_default().merge(&r);
        }
        let states = StateSeconds::of(&spans(&changes, from, to.min(now_ms)));
        Ok(UptimeReport {
            from_ms: from,
            to_ms: to,
            step,
            states,
            uptime: states.uptime(),
            buckets,
        })
    }
}

impl<T: Tables + Clone> State<T> {
    /// Time `monitor` spent in each state within `[from_ms, to_ms)`, counted up to `now_ms`.
    pub fn state_time(
        &self,
        monitor: &str,
        from_ms: i64,
        to_ms: i64,
        now_ms: i64,
    ) -> Result<StateSeconds, StateError> {
        let changes = self.timeline(monitor, from_ms, to_ms)?;
        Ok(StateSeconds::of(&spans(
            &changes,
            from_ms,
            to_ms.min(now_ms),
        )))
    }
}
