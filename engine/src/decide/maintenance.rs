//! Whether a maintenance window is in force at a given instant.

use crate::alerting::{Maintenance, MaintenanceSchedule};

const DAY_MS: i64 = 86_400_000;

/// ISO weekday (1 = Monday) of a Unix day number. Day 0, 1970-01-01, was a Thursday.
fn weekday(day: i64) -> u8 {
    ((day + 3).rem_euclid(7) + 1) as u8
}

impl MaintenanceSchedule {
    /// Whether `now_ms` falls inside the window.
    pub fn active(&self, now_ms: i64) -> bool {
        match self {
            MaintenanceSchedule::Once {
                starts_at_ms,
                ends_at_ms,
            } => (*starts_at_ms..*ends_at_ms).contains(&now_ms),
            MaintenanceSchedule::Weekly {
                days,
                start_minute,
                duration_min,
            } => {
                let today = now_ms.div_euclid(DAY_MS);
                let length = i64::from(*duration_min) * 60_000;
                // A window that started on an earlier day may still run (at most 7 days long).
                (0..=7).any(|back| {
                    let day = today - back;
                    let start = day * DAY_MS + i64::from(*start_minute) * 60_000;
                    days.contains(&weekday(day)) && (start..start + length).contains(&now_ms)
                })
            }
        }
    }
}

impl MaintenanceSchedule {
    /// Occurrences (start, end) that overlap `[from_ms, to_ms)`, in time order, at most
    /// `limit` of them: what a status page lists as past, active and upcoming maintenance.
    pub fn occurrences(&self, from_ms: i64, to_ms: i64, limit: usize) -> Vec<(i64, i64)> {
        match self {
            MaintenanceSchedule::Once {
                starts_at_ms,
                ends_at_ms,
            } => {
                if *starts_at_ms < to_ms && *ends_at_ms > from_ms && limit > 0 {
                    vec![(*starts_at_ms, *ends_at_ms)]
                } else {
                    Vec::new()
                }
            }
            MaintenanceSchedule::Weekly {
                days,
                start_minute,
                duration_min,
            } => {
                let length = i64::from(*duration_min) * 60_000;
                let mut out = Vec::new();
                // A window may start up to 7 days before `from` and still run.
                let mut day = from_ms.div_euclid(DAY_MS) - 7;
                while day * DAY_MS < to_ms && out.len() < limit {
                    let start = day * DAY_MS + i64::from(*start_minute) * 60_000;
                    if days.contains(&weekday(day)) && start < to_ms && start + length > from_ms {
                        out.push((start, start + length));
                    }
                    day += 1;
                }
                out
            }
        }
    }
}

impl Maintenance {
    /// Whether this window covers a monitor with `id` and `tags`.
    pub fn covers(&self, id: &str, tags: &[String]) -> bool {
        (self.monitors.is_empty() && self.tags.is_empty())
            || self.monitors.iter().any(|m| m == id)
            || self.tags.iter().any(|t| tags.contains(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occurrences_of_a_weekly_window_include_one_still_running() {
        // Sundays 23:00 for 2 h; asked from Monday 00:30 for a week.
        let w = MaintenanceSchedule::Weekly {
            days: vec![7],
            start_minute: 23 * 60,
            duration_min: 120,
        };
        let from = MONDAY + 30 * 60_000;
        let got = w.occurrences(from, from + 7 * DAY_MS, 10);
        let sunday_before = MONDAY - 3_600_000;
        assert_eq!(
            got,
            vec![
                (sunday_before, sunday_before + 7_200_000),
                (
                    sunday_before + 7 * DAY_MS,
                    sunday_before + 7 * DAY_MS + 7_200_000
                )
            ]
        );
        for (s, _) in &got {
            assert!(w.active(s + 1));
        }
        assert_eq!(w.occurrences(from, from + 70 * DAY_MS, 3).len(), 3, "limit");
        let once = MaintenanceSchedule::Once {
            starts_at_ms: 10,
            ends_at_ms: 20,
        };
        assert_eq!(once.occurrences(0, 10, 5), vec![], "ends before it starts");
        assert_eq!(once.occurrences(19, 30, 5), vec![(10, 20)]);
    }

    // 2026-11-23 00:00 UTC is a Monday.
    const MONDAY: i64 = 20_780 * DAY_MS;

    #[test]
    fn weekday_of_known_dates() {
        assert_eq!(weekday(0), 4, "1970-01-01 was a Thursday");
        assert_eq!(weekday(MONDAY / DAY_MS), 1);
    }

    #[test]
    fn once_window_is_half_open() {
        let s = MaintenanceSchedule::Once {
            starts_at_ms: 1_000,
            ends_at_ms: 2_000,
        };
        assert!(!s.active(999));
        assert!(s.active(1_000));
        assert!(s.active(1_999));
        assert!(!s.active(2_000));
    }

    #[test]
    fn weekly_window_including_one_across_midnight() {
        // Mondays 23:00 for two hours.
        let s = MaintenanceSchedule::Weekly {
            days: vec![1],
            start_minute: 23 * 60,
            duration_min: 120,
        };
        let hour = 3_600_000;
        assert!(!s.active(MONDAY + 22 * hour));
        assert!(s.active(MONDAY + 23 * hour));
        assert!(s.active(MONDAY + 24 * hour + 30 * 60_000), "Tuesday 00:30");
        assert!(!s.active(MONDAY + 25 * hour), "ended Tuesday 01:00");
        assert!(!s.active(MONDAY + DAY_MS + 23 * hour), "not on Tuesday");
        assert!(s.active(MONDAY + 7 * DAY_MS + 23 * hour), "next Monday");
    }

    #[test]
    fn coverage_by_id_tag_or_everything() {
        let mut m = Maintenance {
            id: "mnt".into(),
            title: "t".into(),
            monitors: vec![],
            tags: vec![],
            schedule: MaintenanceSchedule::Once {
                starts_at_ms: 0,
                ends_at_ms: 1,
            },
            created_at_ms: 0,
        };
        assert!(m.covers("mon_a", &[]));
        m.monitors = vec!["mon_a".into()];
        assert!(m.covers("mon_a", &[]));
        assert!(!m.covers("mon_b", &[]));
        m.tags = vec!["db".into()];
        assert!(m.covers("mon_b", &["db".into()]));
    }
}
