//! The decided states a monitor went through, as intervals.
//!
//! Stored as change points (when a state began); an interval runs to the next change point,
//! or to "now" for the last one. The state is the one people see, in precedence order:
//! paused, then maintenance, then the quorum decision.

use serde::{Deserialize, Serialize};

use crate::decide::quorum::Health;

/// A monitor's state for history: the decision, or why no decision counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimelineState {
    /// Decided up.
    Up,
    /// Decided degraded.
    Degraded,
    /// Decided down (quorum of regions).
    Down,
    /// Not enough regions could vote (or nothing decided yet).
    Unknown,
    /// A maintenance window covered the monitor.
    Maintenance,
    /// The monitor was paused.
    Paused,
}

impl TimelineState {
    /// Every state, in the order reports list them.
    pub const ALL: [TimelineState; 6] = [
        TimelineState::Up,
        TimelineState::Degraded,
        TimelineState::Down,
        TimelineState::Unknown,
        TimelineState::Maintenance,
        TimelineState::Paused,
    ];

    /// The state people see: paused over maintenance over the decision.
    pub fn of(health: Health, in_maintenance: bool, paused: bool) -> Self {
        if paused {
            TimelineState::Paused
        } else if in_maintenance {
            TimelineState::Maintenance
        } else {
            match health {
                Health::Up => TimelineState::Up,
                Health::Degraded => TimelineState::Degraded,
                Health::Down => TimelineState::Down,
                Health::Unknown => TimelineState::Unknown,
            }
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TimelineState::Up => "up",
            TimelineState::Degraded => "degraded",
            TimelineState::Down => "down",
            TimelineState::Unknown => "unknown",
            TimelineState::Maintenance => "maintenance",
            TimelineState::Paused => "paused",
        }
    }

    /// One byte for storage.
    pub fn code(self) -> u8 {
        match self {
            TimelineState::Up => 0,
            TimelineState::Degraded => 1,
            TimelineState::Down => 2,
            TimelineState::Unknown => 3,
            TimelineState::Maintenance => 4,
            TimelineState::Paused => 5,
        }
    }

    /// The state stored as `code`.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// One interval of a timeline, `[start_ms, end_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// Start, Unix ms.
    pub start_ms: i64,
    /// End, Unix ms (exclusive).
    pub end_ms: i64,
    /// The state throughout.
    pub state: TimelineState,
}

/// The intervals of `changes` (change points in time order; the first may lie before
/// `from_ms`, giving the state at `from_ms`) clipped to `[from_ms, to_ms)`. Time before the
/// first change point is not covered: the monitor did not exist.
pub fn spans(changes: &[(i64, TimelineState)], from_ms: i64, to_ms: i64) -> Vec<Span> {
    let mut out = Vec::with_capacity(changes.len());
    for (n, (start, state)) in changes.iter().enumerate() {
        let end = changes.get(n + 1).map_or(to_ms, |(next, _)| *next);
        let (s, e) = ((*start).max(from_ms), end.min(to_ms));
        if s < e {
            out.push(Span {
                start_ms: s,
                end_ms: e,
                state: *state,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use TimelineState::*;

    #[test]
    fn spans_clip_to_the_range_and_start_with_the_monitor() {
        let changes = [(100, Up), (200, Down), (250, Up)];
        assert_eq!(
            spans(&changes, 150, 300),
            vec![
                Span {
                    start_ms: 150,
                    end_ms: 200,
                    state: Up
                },
                Span {
                    start_ms: 200,
                    end_ms: 250,
                    state: Down
                },
                Span {
                    start_ms: 250,
                    end_ms: 300,
                    state: Up
                },
            ]
        );
        // Before the monitor existed: nothing.
        assert_eq!(
            spans(&changes, 0, 120),
            vec![Span {
                start_ms: 100,
                end_ms: 120,
                state: Up
            }]
        );
        assert!(spans(&changes, 0, 50).is_empty());
        assert!(spans(&[], 0, 50).is_empty());
    }

    #[test]
    fn precedence_and_codes() {
        assert_eq!(TimelineState::of(Health::Down, true, false), Maintenance);
        assert_eq!(TimelineState::of(Health::Down, true, true), Paused);
        assert_eq!(TimelineState::of(Health::Degraded, false, false), Degraded);
        for s in TimelineState::ALL {
            assert_eq!(TimelineState::from_code(s.code()), Some(s));
        }
        assert_eq!(TimelineState::from_code(9), None);
    }
}
