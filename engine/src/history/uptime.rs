//! Uptime and downtime of a range, from the decided-state timeline. The one definition every
//! API answer, report and status page uses:
//!
//! - Time counts toward uptime only when the monitor was decided **up, degraded or down**.
//!   Uptime is `(up + degraded) / (up + degraded + down)`: degraded is reachable, and a
//!   single region's failure never reaches "down" without the quorum (that is the point of
//!   deciding by quorum).
//! - **Unknown** (too few regions could vote), **maintenance** and **paused** time is left out
//!   of both sides: it is neither up nor down. So is time before the monitor existed and time
//!   after `now` (a bucket still running counts what has elapsed of it).
//! - A range with no counted time has no uptime (`None`), never 100 %.
//! - Downtime is the time decided down.

use serde::Serialize;

use super::timeline::{Span, TimelineState};

/// Milliseconds spent in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StateSeconds {
    /// Decided up.
    pub up: i64,
    /// Decided degraded.
    pub degraded: i64,
    /// Decided down.
    pub down: i64,
    /// Unknown.
    pub unknown: i64,
    /// In maintenance.
    pub maintenance: i64,
    /// Paused.
    pub paused: i64,
}

impl StateSeconds {
    /// The time of `spans` by state, ms.
    pub fn of(spans: &[Span]) -> Self {
        let mut s = Self::default();
        for sp in spans {
            *s.slot(sp.state) += sp.end_ms - sp.start_ms;
        }
        s
    }

    fn slot(&mut self, state: TimelineState) -> &mut i64 {
        match state {
            TimelineState::Up => &mut self.up,
            TimelineState::Degraded => &mut self.degraded,
            TimelineState::Down => &mut self.down,
            TimelineState::Unknown => &mut self.unknown,
            TimelineState::Maintenance => &mut self.maintenance,
            TimelineState::Paused => &mut self.paused,
        }
    }

    /// Time in `state`, ms.
    pub fn get(&self, state: TimelineState) -> i64 {
        let mut c = *self;
        *c.slot(state)
    }

    /// Adds `other` into this one.
    pub fn merge(&mut self, other: &StateSeconds) {
        for st in TimelineState::ALL {
            *self.slot(st) += other.get(st);
        }
    }

    /// Uptime and downtime by the rules above.
    pub fn uptime(&self) -> Uptime {
        let counted = self.up + self.degraded + self.down;
        Uptime {
            uptime_pct: (counted > 0)
                .then(|| (self.up + self.degraded) as f64 * 100.0 / counted as f64),
            downtime_ms: self.down,
        }
    }
}

/// Uptime of a range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Uptime {
    /// Percent of counted time up or degraded; `None` when no time counted.
    pub uptime_pct: Option<f64>,
    /// Time decided down, ms.
    pub downtime_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::timeline::spans;
    use TimelineState::*;

    #[test]
    fn unknown_maintenance_and_paused_count_on_neither_side() {
        let changes = [
            (0, Up),
            (600, Down),
            (700, Maintenance),
            (800, Unknown),
            (900, Degraded),
        ];
        let s = StateSeconds::of(&spans(&changes, 0, 1000));
        assert_eq!(
            (s.up, s.down, s.maintenance, s.unknown, s.degraded),
            (600, 100, 100, 100, 100)
        );
        let u = s.uptime();
        assert_eq!(u.downtime_ms, 100);
        assert_eq!(u.uptime_pct, Some(700.0 * 100.0 / 800.0));
        let only_paused = StateSeconds::of(&spans(&[(0, Paused)], 0, 10));
        assert_eq!(only_paused.uptime().uptime_pct, None);
    }
}
