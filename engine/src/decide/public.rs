//! How the public sees a component: its status now, and the colour of each day's bar.
//!
//! One place for the rules a status page states to its visitors (`docs/status-pages.md`), so
//! the HTML, the Statuspage JSON, the badges and the feeds cannot disagree. Pure: the caller
//! reads the decided state and passes it in.

use crate::history::timeline::TimelineState;
use crate::history::uptime::StateSeconds;

/// A component's status as a status page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PublicStatus {
    /// Every monitor with a decision is up.
    Operational,
    /// Some monitor is degraded (some regions fail it, fewer than its quorum), none is down.
    Degraded,
    /// Some but not all of its monitors are down by quorum.
    PartialOutage,
    /// Every monitor with a decision is down by quorum.
    MajorOutage,
    /// In a maintenance window, nothing down or degraded.
    Maintenance,
    /// No monitor has a decision (new, paused, or too few regions can vote).
    NoData,
}

/// The status of a component from the current state of each of its monitors (the newest
/// timeline state: paused over maintenance over the decision).
///
/// Paused and unknown monitors are left out, as they are of uptime. An outage wins over
/// maintenance: a maintenance window holds alerts back, it does not make a failure invisible.
pub fn component_status(states: impl IntoIterator<Item = TimelineState>) -> PublicStatus {
    let (mut decided, mut down, mut degraded, mut maintenance) = (0, 0, 0, 0);
    for s in states {
        match s {
            TimelineState::Up => decided += 1,
            TimelineState::Degraded => {
                decided += 1;
                degraded += 1;
            }
            TimelineState::Down => {
                decided += 1;
                down += 1;
            }
            TimelineState::Maintenance => maintenance += 1,
            TimelineState::Unknown | TimelineState::Paused => {}
        }
    }
    match () {
        _ if down > 0 && down == decided => PublicStatus::MajorOutage,
        _ if down > 0 => PublicStatus::PartialOutage,
        _ if degraded > 0 => PublicStatus::Degraded,
        _ if maintenance > 0 => PublicStatus::Maintenance,
        _ if decided > 0 => PublicStatus::Operational,
        _ => PublicStatus::NoData,
    }
}

/// How a day's bar is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayLevel {
    /// Nothing counted.
    NoData,
    /// Up the whole counted time.
    Operational,
    /// Degraded at some point, never down.
    Degraded,
    /// Down for less than [`MAJOR_SHARE`] of the counted time.
    Partial,
    /// Down for [`MAJOR_SHARE`] of the counted time or more.
    Major,
    /// Maintenance and up time only.
    Maintenance,
}

/// Share of a day's counted time down from which its bar shows a major outage (5 %: 72
/// minutes of a whole day).
pub const MAJOR_SHARE: f64 = 0.05;

/// The colour of a day from the time its monitors spent in each state (summed over them).
pub fn day_level(s: &StateSeconds) -> DayLevel {
    let counted = s.up + s.degraded + s.down;
    if s.down > 0 {
        if s.down as f64 >= counted as f64 * MAJOR_SHARE {
            DayLevel::Major
        } else {
            DayLevel::Partial
        }
    } else if s.degraded > 0 {
        DayLevel::Degraded
    } else if s.maintenance > 0 {
        DayLevel::Maintenance
    } else if counted > 0 {
        DayLevel::Operational
    } else {
        DayLevel::NoData
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TimelineState::*;

    #[test]
    fn a_component_is_as_bad_as_its_worst_decided_monitor() {
        assert_eq!(component_status([Up, Up]), PublicStatus::Operational);
        assert_eq!(component_status([Up, Degraded]), PublicStatus::Degraded);
        assert_eq!(component_status([Up, Down]), PublicStatus::PartialOutage);
        assert_eq!(component_status([Down, Down]), PublicStatus::MajorOutage);
        assert_eq!(
            component_status([Down, Unknown, Paused]),
            PublicStatus::MajorOutage,
            "undecided monitors are left out"
        );
        assert_eq!(
            component_status([Maintenance, Up]),
            PublicStatus::Maintenance
        );
        assert_eq!(
            component_status([Maintenance, Down]),
            PublicStatus::MajorOutage,
            "an outage shows through maintenance"
        );
        assert_eq!(component_status([Unknown, Paused]), PublicStatus::NoData);
        assert_eq!(component_status([]), PublicStatus::NoData);
    }

    #[test]
    fn a_day_is_major_from_five_percent_down() {
        let day = |up, degraded, down, maintenance| StateSeconds {
            up,
            degraded,
            down,
            maintenance,
            ..StateSeconds::default()
        };
        assert_eq!(day_level(&day(0, 0, 0, 0)), DayLevel::NoData);
        assert_eq!(day_level(&day(100, 0, 0, 0)), DayLevel::Operational);
        assert_eq!(day_level(&day(100, 0, 0, 5)), DayLevel::Maintenance);
        assert_eq!(day_level(&day(90, 10, 0, 0)), DayLevel::Degraded);
        assert_eq!(day_level(&day(96, 0, 4, 0)), DayLevel::Partial);
        assert_eq!(day_level(&day(95, 0, 5, 0)), DayLevel::Major);
        assert_eq!(
            day_level(&StateSeconds {
                unknown: 100,
                ..StateSeconds::default()
            }),
            DayLevel::NoData
        );
    }
}
