//! The printable SLA report page (`/reports/sla`): per monitor uptime over a date range against
//! a target, the same rows as `GET /v1/reports/sla`.
//!
//! [`SlaReport::build`] is pure: the form's raw values and the rows in, every string the
//! template shows out. Bad form values fall back to the defaults and say so, instead of
//! failing the page.

use crate::api::history::SlaRow;

const DAY_MS: i64 = 86_400_000;

/// Default target, percent.
pub const DEFAULT_TARGET: f64 = 99.9;

/// The range and target a report covers, read from the form.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaForm {
    /// First day, `YYYY-MM-DD` (UTC).
    pub from: String,
    /// Last day, inclusive.
    pub to: String,
    /// Target, percent.
    pub target: f64,
    /// `[from, to + 1 day)`, Unix ms.
    pub from_ms: i64,
    /// End, Unix ms (exclusive).
    pub to_ms: i64,
    /// What was wrong with the form, if anything (the defaults were used for it).
    pub problem: Option<String>,
}

fn day_of(s: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(s, &format).ok()?;
    let ms = d.midnight().assume_utc().unix_timestamp() * 1000;
    (0..=253_402_214_400_000).contains(&ms).then_some(ms)
}

fn day_str(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

impl SlaForm {
    /// Reads `from`, `to` and `target`; the default range is the last 30 whole days up to
    /// and including today (`now_ms`).
    pub fn read(from: Option<&str>, to: Option<&str>, target: Option<&str>, now_ms: i64) -> Self {
        let today = now_ms.div_euclid(DAY_MS) * DAY_MS;
        let mut problems = Vec::new();
        let mut day = |v: Option<&str>, name: &str, default: i64| match v.filter(|s| !s.is_empty())
        {
            None => default,
            Some(s) => day_of(s).unwrap_or_else(|| {
                problems.push(format!("{name} is not a date (YYYY-MM-DD)"));
                default
            }),
        };
        let mut to_day = day(to, "to", today);
        let mut from_day = day(from, "from", to_day - 29 * DAY_MS);
        if from_day > to_day {
            problems.push("from is after to".into());
            (from_day, to_day) = (to_day - 29 * DAY_MS, to_day);
        }
        if to_day - from_day > 2 * 365 * DAY_MS {
            problems.push("at most two years".into());
            from_day = to_day - 2 * 365 * DAY_MS;
        }
        let target = match target.filter(|s| !s.is_empty()) {
            None => DEFAULT_TARGET,
            Some(t) => match t.parse::<f64>() {
                Ok(t) if (0.0..=100.0).contains(&t) => t,
                _ => {
                    problems.push("target must be a percentage, 0 to 100".into());
                    DEFAULT_TARGET
                }
            },
        };
        SlaForm {
            from: day_str(from_day),
            to: day_str(to_day),
            target,
            from_ms: from_day,
            to_ms: to_day + DAY_MS,
            problem: (!problems.is_empty()).then(|| problems.join("; ")),
        }
    }
}

/// One row as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaLine {
    /// Monitor page.
    pub href: String,
    /// Monitor name.
    pub name: String,
    /// `99.950 %` or `—`.
    pub uptime: String,
    /// Downtime, e.g. `4 min`.
    pub downtime: String,
    /// Incidents overlapping the range.
    pub incidents: u64,
    /// `met`, `breached` or `no data`; also the CSS class (`up`, `down`, `unknown`).
    pub verdict: &'static str,
    /// CSS class of the verdict.
    pub class: &'static str,
}

/// The report as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaReport {
    /// The form, as read.
    pub form: SlaForm,
    /// Rows, by name.
    pub lines: Vec<SlaLine>,
    /// Monitors breaching the target.
    pub breached: usize,
    /// The API URL of the same report as CSV.
    pub csv_href: String,
}

fn downtime(s: f64) -> String {
    let s = s as i64;
    match s {
        0 => "none".into(),
        1..=59 => format!("{s} s"),
        60..=5_999 => format!("{} min", s / 60),
        _ => format!("{:.1} h", s as f64 / 3_600.0),
    }
}

impl SlaReport {
    /// Builds the page from the form and the rows computed for it.
    pub fn build(form: SlaForm, rows: &[SlaRow]) -> Self {
        let lines: Vec<SlaLine> = rows
            .iter()
            .map(|r| {
                let (verdict, class) = match (r.uptime_pct, r.breach) {
                    (None, _) => ("no data", "unknown"),
                    (Some(_), true) => ("breached", "down"),
                    (Some(_), false) => ("met", "up"),
                };
                SlaLine {
                    href: format!("/monitors/{}", super::format::path_segment(&r.monitor_id)),
                    name: r.name.clone(),
                    uptime: r.uptime_pct.map_or("—".into(), |p| format!("{p:.3} %")),
                    downtime: downtime(r.downtime_s),
                    incidents: r.incidents,
                    verdict,
                    class,
                }
            })
            .collect();
        SlaReport {
            breached: rows.iter().filter(|r| r.breach).count(),
            csv_href: format!(
                "/v1/reports/sla?format=csv&from={}&to={}&target={}",
                form.from_ms, form.to_ms, form.target
            ),
            form,
            lines,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_000_000_000; // 2026-11-30T...

    #[test]
    fn the_form_defaults_to_thirty_days_and_reports_bad_values() {
        let f = SlaForm::read(None, None, None, NOW);
        assert_eq!(f.to_ms - f.from_ms, 30 * DAY_MS);
        assert_eq!(f.target, DEFAULT_TARGET);
        assert_eq!(f.problem, None);
        let f = SlaForm::read(Some("2026-11-01"), Some("2026-11-30"), Some("99.5"), NOW);
        assert_eq!(
            (f.from.as_str(), f.to.as_str(), f.target),
            ("2026-11-01", "2026-11-30", 99.5)
        );
        let f = SlaForm::read(Some("<b>"), Some("2026-11-30"), Some("250"), NOW);
        assert_eq!(f.from, "2026-11-01");
        let p = f.problem.expect("problems");
        assert!(
            p.contains("from is not a date") && p.contains("target"),
            "{p}"
        );
        let f = SlaForm::read(Some("2026-12-01"), Some("2026-11-01"), None, NOW);
        assert!(f.problem.is_some_and(|p| p.contains("after")));
    }

    #[test]
    fn verdicts() {
        let row = |uptime: Option<f64>, breach| SlaRow {
            monitor_id: "mon_1".into(),
            name: "api".into(),
            uptime_pct: uptime,
            downtime_s: 300.0,
            incidents: 1,
            target_pct: 99.9,
            breach,
        };
        let r = SlaReport::build(
            SlaForm::read(None, None, None, NOW),
            &[
                row(Some(99.5), true),
                row(Some(100.0), false),
                row(None, false),
            ],
        );
        let v: Vec<_> = r.lines.iter().map(|l| l.verdict).collect();
        assert_eq!(v, ["breached", "met", "no data"]);
        assert_eq!(r.breached, 1);
        assert_eq!(r.lines[0].uptime, "99.500 %");
        assert_eq!(r.lines[0].downtime, "5 min");
    }
}
