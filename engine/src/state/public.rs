//! What a status page component shows, read from the decided state: its status and failing
//! regions now ([`State::component_now`]), and its day bars, uptime windows and response
//! times ([`State::component_history`]).
//!
//! Split in two because their costs differ by orders of magnitude: the status is a few reads
//! per monitor and must follow every decision at once; the history reads 90 days of timeline
//! and a day of hourly rollups per monitor, and only drifts as time passes.

use std::collections::BTreeSet;

use super::decisions::{rules, view_of};
use super::{State, StateError};
use crate::decide::public::{component_status, day_level, DayLevel, PublicStatus};
use crate::decide::quorum::RegionView;
use crate::decide::vote::Vote;
use crate::history::{Resolution, Rollup, StateSeconds, TimelineState};
use crate::tables::Tables;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// A component's status now.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ComponentNow {
    /// Status by [`component_status`].
    pub status: PublicStatus,
    /// Regions where some monitor of the component votes down or degraded, sorted.
    pub failing: Vec<String>,
    /// Regions with a vote on some monitor of the component.
    pub voting: u32,
    /// Latest change of state of any of its monitors (leader clock).
    pub since_ms: i64,
}

/// One day of a component: its monitors' time summed.
#[derive(Debug, Clone, PartialEq)]
pub struct DayReading {
    /// 00:00 UTC.
    pub start_ms: i64,
    /// Time in each state, summed over the component's monitors, ms.
    pub states: StateSeconds,
    /// Colour by [`day_level`].
    pub level: DayLevel,
    /// Not fully observed: today, a monitor created or paused that day, or unknown time.
    pub partial: bool,
}

/// A component's history.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentHistory {
    /// One reading per day, oldest first; the last is today.
    pub days: Vec<DayReading>,
    /// Uptime over the last 24 h, 7 d, 30 d and 90 d (percent, `None` without counted time).
    pub uptime: [Option<f64>; 4],
    /// Hourly latency over the last 24 h, oldest first: (start, p50, p95) in ms.
    pub latency: Vec<(i64, Option<f64>, Option<f64>)>,
}

/// The uptime windows of [`ComponentHistory::uptime`], ms.
pub const UPTIME_WINDOWS_MS: [i64; 4] = [DAY_MS, 7 * DAY_MS, 30 * DAY_MS, 90 * DAY_MS];

impl<T: Tables + Clone> State<T> {
    /// The newest timeline state of `monitor` at `now_ms` (unknown before its first).
    pub fn current_state(&self, monitor: &str, now_ms: i64) -> Result<TimelineState, StateError> {
        Ok(self
            .timeline(monitor, now_ms, now_ms)?
            .last()
            .map_or(TimelineState::Unknown, |(_, s)| *s))
    }

    /// The status of a component made of `monitors` at `now_ms`. Monitors that no longer
    /// exist are left out.
    pub fn component_now(
        &self,
        monitors: &[String],
        now_ms: i64,
    ) -> Result<ComponentNow, StateError> {
        let mut states = Vec::with_capacity(monitors.len());
        let mut failing = BTreeSet::new();
        let mut voting = BTreeSet::new();
        let mut since_ms = 0;
        for id in monitors {
            let Some(m) = self.monitor(id)? else {
                continue;
            };
            let changes = self.timeline(id, now_ms, now_ms)?;
            let (at, state) = changes
                .last()
                .copied()
                .unwrap_or((m.created_at_ms, TimelineState::Unknown));
            since_ms = since_ms.max(at);
            states.push(state);
            if state == TimelineState::Paused {
                continue;
            }
            let r = rules(&m);
            for (region, track) in self.region_tracks(id)? {
                if !m.covers(&region) {
                    continue;
                }
                if let RegionView::Votes { vote, degraded } = view_of(&track, now_ms, r) {
                    if vote == Vote::Down || degraded {
                        failing.insert(region.clone());
                    }
                    voting.insert(region);
                }
            }
        }
        Ok(ComponentNow {
            status: component_status(states),
            failing: failing.into_iter().collect(),
            voting: voting.len() as u32,
            since_ms,
        })
    }

    /// The last `days` days (today included) of a component made of `monitors`, its uptime
    /// windows and its last 24 hours of response times, at `now_ms`.
    pub fn component_history(
        &self,
        monitors: &[String],
        days: u32,
        now_ms: i64,
    ) -> Result<ComponentHistory, StateError> {
        let today = Resolution::Day.bucket_start(now_ms);
        let days = i64::from(days.max(1));
        let from = today - (days - 1) * DAY_MS;
        let mut sums = vec![StateSeconds::default(); days as usize];
        let mut windows = [StateSeconds::default(); 4];
        let hour_from = Resolution::Hour.bucket_start(now_ms) - 23 * HOUR_MS;
        let mut hours = vec![Rollup::default(); 24];
        let mut present = 0i64;
        for id in monitors {
            if self.monitor(id)?.is_none() {
                continue;
            }
            present += 1;
            let report = self.uptime_report(id, from, now_ms, Resolution::Day, now_ms)?;
            for (sum, b) in sums.iter_mut().zip(&report.buckets) {
                sum.merge(&b.states);
            }
            for (w, len) in windows.iter_mut().zip(UPTIME_WINDOWS_MS) {
                w.merge(&self.state_time(id, now_ms - len, now_ms, now_ms)?);
            }
            let hourly = self.uptime_report(id, hour_from, now_ms, Resolution::Hour, now_ms)?;
            for (h, b) in hours.iter_mut().zip(&hourly.buckets) {
                h.merge(&b.all);
            }
        }
        let days = sums
            .into_iter()
            .enumerate()
            .map(|(i, states)| {
                let start_ms = from + i as i64 * DAY_MS;
                let elapsed = (start_ms + DAY_MS).min(now_ms) - start_ms;
                let observed = states.up + states.degraded + states.down + states.maintenance;
                DayReading {
                    start_ms,
                    level: day_level(&states),
                    partial: start_ms == today || observed < present * elapsed,
                    states,
                }
            })
            .collect();
        Ok(ComponentHistory {
            days,
            uptime: windows.map(|w| w.uptime().uptime_pct),
            latency: hours
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    (
                        hour_from + i as i64 * HOUR_MS,
                        r.latency.quantile_ms(0.5),
                        r.latency.quantile_ms(0.95),
                    )
                })
                .collect(),
        })
    }
}
