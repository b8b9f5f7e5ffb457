//! How long history is kept, and pruning it at ticks.
//!
//! Pruning is part of applying a tick, so every replica removes the same entries at the same
//! log position. Each tick does a bounded amount of it: it walks the monitors from where the
//! last tick stopped (a cursor in `sm_meta`), removing what fell out of each window, until it
//! has visited [`MONITORS_PER_TICK`] monitors or removed [`REMOVALS_PER_TICK`] rows. A large
//! expiry is spread over ticks instead of stalling one apply; at a steady rate the walk keeps
//! up because a tick removes far more than a second of results adds.

use std::ops::Bound;

use serde::{Deserialize, Serialize};

use super::history::{rollup_key, rollup_prefix, timeline_key};
use super::{from_json, json, ordered_i64, prefix, State, StateError};
use crate::history::Resolution;
use crate::tables::{Table, Tables};

/// Monitors one tick visits at most. Each visit costs a handful of range scans whether or not
/// anything expired (the history bench measured 48 ms a tick at 256), so the walk is kept
/// short: 1,000 monitors are visited every 16 ticks, 10,000 every 157, which raw windows of
/// hours or days do not notice.
pub const MONITORS_PER_TICK: usize = 64;

/// Rows one tick removes at most (results, rollup buckets and change points together).
pub const REMOVALS_PER_TICK: usize = 20_000;

const RETENTION: &[u8] = b"retention";
const CURSOR: &[u8] = b"prune_cursor";

/// How long each kind of history is kept, ms. Set by the leader from its flags
/// (`--results-retention`, `--hourly-retention`, `--daily-retention`) through
/// [`super::command::Command::SetRetention`]; until then nothing is pruned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// Raw results.
    pub results_ms: u64,
    /// Hourly rollups.
    pub hourly_ms: u64,
    /// Daily rollups and the decided-state timeline.
    pub daily_ms: u64,
}

impl Retention {
    /// Raw results 7 days, hourly rollups 90 days, daily rollups 2 years.
    pub const DEFAULT: Retention = Retention {
        results_ms: 7 * 86_400_000,
        hourly_ms: 90 * 86_400_000,
        daily_ms: 730 * 86_400_000,
    };

    fn of(&self, res: Resolution) -> u64 {
        match res {
            Resolution::Hour => self.hourly_ms,
            Resolution::Day => self.daily_ms,
        }
    }
}

fn cutoff(now_ms: i64, keep_ms: u64) -> i64 {
    now_ms.saturating_sub(i64::try_from(keep_ms).unwrap_or(i64::MAX))
}

impl<T: Tables + Clone> State<T> {
    /// The retention in force; `None` before a leader set one (nothing is pruned).
    pub fn retention(&self) -> Result<Option<Retention>, StateError> {
        self.table(Table::Meta)
            .get(RETENTION)?
            .map(|v| from_json("sm_meta", &v))
            .transpose()
    }

    pub(super) fn set_retention(&self, r: &Retention) -> Result<(), StateError> {
        self.table(Table::Meta).insert(RETENTION, json(r))?;
        Ok(())
    }

    /// One tick's share of pruning (see the module docs). Returns the rows removed.
    pub(super) fn prune(&self, now_ms: i64) -> Result<usize, StateError> {
        let Some(keep) = self.retention()? else {
            return Ok(0);
        };
        let start = self.table(Table::Meta).get(CURSOR)?.unwrap_or_default();
        let monitors = self.table(Table::Monitors);
        let mut ids: Vec<Vec<u8>> = monitors
            .scan(Bound::Excluded(&start), Bound::Unbounded, false)
            .keys()
            .take(MONITORS_PER_TICK)
            .collect::<Result<_, _>>()?;
        if ids.len() < MONITORS_PER_TICK {
            // Wrap around: the walk continues from the first monitor.
            let more = MONITORS_PER_TICK - ids.len();
            let wrapped = monitors
                .scan(Bound::Unbounded, Bound::Included(&start), false)
                .keys()
                .take(more)
                .collect::<Result<Vec<_>, _>>()?;
            ids.extend(wrapped);
        }
        let mut removed = 0;
        let mut cursor = None;
        for id in ids {
            let id_str = String::from_utf8_lossy(&id).into_owned();
            let (n, done) =
                self.prune_monitor(&id_str, &keep, now_ms, REMOVALS_PER_TICK - removed)?;
            removed += n;
            if !done {
                // Out of budget inside this monitor: the next tick starts with it again.
                cursor = Some(previous_key(&id));
                break;
            }
            cursor = Some(id);
        }
        if let Some(c) = cursor {
            self.table(Table::Meta).insert(CURSOR, c)?;
        }
        Ok(removed)
    }

    /// Removes up to `budget` rows of `monitor` that fell out of their windows; returns the
    /// count and whether the monitor is done.
    fn prune_monitor(
        &self,
        monitor: &str,
        keep: &Retention,
        now_ms: i64,
        budget: usize,
    ) -> Result<(usize, bool), StateError> {
        let mut removed = 0;
        // Raw results: `monitor \0 checked_at ...`.
        let p = prefix(monitor);
        let mut hi = p.clone();
        hi.extend_from_slice(&ordered_i64(cutoff(now_ms, keep.results_ms)));
        removed += self.remove_range(Table::Results, &p, &hi, budget)?;
        if removed >= budget {
            return Ok((removed, false));
        }
        for res in Resolution::ALL {
            let lo = rollup_prefix(monitor, res);
            // Whole buckets only: a bucket goes once its end is out of the window.
            let end = cutoff(now_ms, keep.of(res)).saturating_sub(res.width_ms());
            let hi = rollup_key(monitor, res, end.saturating_add(1), "");
            removed += self.remove_range(Table::Rollups, &lo, &hi, budget - removed)?;
            if removed >= budget {
                return Ok((removed, false));
            }
        }
        // Change points before the daily window, except the last of them: it says what the
        // state was when the window starts.
        let t = self.table(Table::Timeline);
        let edge = timeline_key(monitor, cutoff(now_ms, keep.daily_ms));
        let mut old = t
            .scan(Bound::Included(&p), Bound::Included(&edge), false)
            .keys()
            .take(budget - removed + 1)
            .collect::<Result<Vec<_>, _>>()?;
        let complete = old.len() <= budget - removed;
        if complete {
            old.pop();
        } else {
            old.truncate(budget - removed);
        }
        for k in &old {
            t.delete(k)?;
        }
        removed += old.len();
        Ok((removed, complete))
    }

    /// Removes up to `budget` rows with keys in `[lo, hi)`.
    fn remove_range(
        &self,
        table: Table,
        lo: &[u8],
        hi: &[u8],
        budget: usize,
    ) -> Result<usize, StateError> {
        let t = self.table(table);
        let keys = t
            .scan(Bound::Included(lo), Bound::Excluded(hi), false)
            .keys()
            .take(budget)
            .collect::<Result<Vec<_>, _>>()?;
        for k in &keys {
            t.delete(k)?;
        }
        Ok(keys.len())
    }
}

/// A key just below `key` in the walk's order, so `Excluded(previous)` starts at `key`.
fn previous_key(key: &[u8]) -> Vec<u8> {
    match key.split_last() {
        // `key` minus its last byte is below `key` and above every id before it... unless an
        // id equals that shorter key, which the walk then visits again (harmless).
        Some((_, head)) => head.to_vec(),
        None => Vec::new(),
    }
}
