//! Latency charts as inline SVG, rendered in Rust (no JavaScript, no chart library).
//!
//! [`latency_svg`] is a pure function from points to an SVG string. The x axis is time over a
//! given window, the y axis latency from 0 to a "nice" maximum derived from the 95th percentile
//! (x 1.2), so one slow outlier does not flatten the rest; values above the maximum are drawn on
//! the top edge (with class `clamped`) and their tooltip shows the real value.
//!
//! Up results are joined by a polyline (broken wherever a result that was not up intervenes);
//! degraded results get amber markers and down results red ones (classes `degraded`, `down`; the
//! colours live in `app.css`). Every point carries a `<title>` tooltip. All text is escaped with
//! [`escape`], which is what makes it safe for the templates to embed the string unescaped.
//!
//! The SVG has a fixed `viewBox` of [`WIDTH`] x [`HEIGHT`] and no fixed size, so it scales with
//! its container.

use std::fmt::Write as _;

/// Width of the `viewBox`.
pub const WIDTH: f64 = 720.0;
/// Height of the `viewBox`.
pub const HEIGHT: f64 = 200.0;

/// Plot area inside the `viewBox`: left, right, top, bottom.
const LEFT: f64 = 52.0;
const RIGHT: f64 = 712.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 176.0;

/// One measurement to plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// When it was measured, Unix ms.
    pub t_ms: i64,
    /// Duration of the run in milliseconds.
    pub latency_ms: f64,
    /// `up`, `degraded` or `down`.
    pub status: &'static str,
}

/// Escapes text for SVG/HTML element content and double- or single-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The `p`-th percentile (0..=100, nearest rank) of `values`; `None` when empty. NaNs are
/// ignored.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((p.clamp(0.0, 100.0) / 100.0) * v.len() as f64).ceil() as usize;
    Some(v[rank.saturating_sub(1).min(v.len() - 1)])
}

/// The smallest 1, 2 or 5 x 10^k that is at least `x` (`x` > 0).
fn nice_step(x: f64) -> f64 {
    if !x.is_finite() || x <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(x.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * mag >= x * (1.0 - 1e-9) {
            return m * mag;
        }
    }
    10.0 * mag
}

/// Top of the y axis and the tick step: about 4 ticks, the top at least `p95 x 1.2`.
fn y_scale(points: &[Point]) -> (f64, f64) {
    // Down results' durations are time to failure (a timeout is huge, a refusal tiny): scale on
    // the others when there are any.
    let reachable: Vec<f64> = points
        .iter()
        .filter(|p| p.status != "down")
        .map(|p| p.latency_ms)
        .collect();
    let basis = if reachable.is_empty() {
        points.iter().map(|p| p.latency_ms).collect()
    } else {
        reachable
    };
    let want = percentile(&basis, 95.0).unwrap_or(0.0) * 1.2;
    let want = if want.is_finite() && want > 0.0 {
        want
    } else {
        1.0
    };
    let step = nice_step(want / 4.0);
    let top = (want / step).ceil().max(1.0) * step;
    (top, step)
}

/// Tick interval for a time span: the first of a list of round intervals giving at most 6 ticks.
fn x_step_ms(span_ms: i64) -> i64 {
    const MIN: i64 = 60_000;
    const STEPS: [i64; 12] = [
        MIN,
        2 * MIN,
        5 * MIN,
        10 * MIN,
        15 * MIN,
        30 * MIN,
        60 * MIN,
        120 * MIN,
        180 * MIN,
        360 * MIN,
        720 * MIN,
        1440 * MIN,
    ];
    STEPS
        .into_iter()
        .find(|s| span_ms / s <= 6)
        .unwrap_or(((span_ms / 6) / (1440 * MIN) + 1) * 1440 * MIN)
}

/// `HH:MM` (UTC) of a Unix ms time.
fn clock(t_ms: i64) -> String {
    let secs = t_ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}", secs / 3600, secs % 3600 / 60)
}

/// `HH:MM:SS` (UTC) of a Unix ms time, for tooltips.
fn clock_s(t_ms: i64) -> String {
    let secs = t_ms.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// A y-axis label.
fn ms_label(v: f64) -> String {
    if v >= 10.0 || v == 0.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// Renders the latency chart of `points` (any order) over the window `from_ms..=to_ms`.
///
/// `label` names the chart (e.g. the region) in its accessible title. Points outside the window
/// are drawn at its edges. An empty `points` yields a chart frame saying there are no results.
pub fn latency_svg(points: &[Point], from_ms: i64, to_ms: i64, label: &str) -> String {
    let (from_ms, to_ms) = if to_ms > from_ms {
        (from_ms, to_ms)
    } else {
        (to_ms.saturating_sub(60_000), to_ms)
    };
    let span = (to_ms - from_ms) as f64;
    let x = |t: i64| LEFT + ((t - from_ms) as f64 / span).clamp(0.0, 1.0) * (RIGHT - LEFT);
    let mut pts: Vec<&Point> = points.iter().collect();
    pts.sort_by_key(|p| p.t_ms);
    let (top, step) = y_scale(points);
    let y = |v: f64| {
        let v = if v.is_finite() { v.max(0.0) } else { top };
        BOTTOM - (v.min(top) / top) * (BOTTOM - TOP)
    };

    let mut s = String::with_capacity(512 + pts.len() * 120);
    let label = escape(label);
    let _ = write!(
        s,
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         role=\"img\" aria-label=\"Latency, {label}\"><title>Latency, {label}</title>"
    );

    // Grid and y axis labels.
    s.push_str("<g class=\"axis\">");
    let mut v = 0.0;
    while v <= top * (1.0 + 1e-9) {
        let yy = y(v);
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{RIGHT}\" y2=\"{yy:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 6.0,
            yy + 4.0,
            ms_label(v)
        );
        v += step;
    }
    let _ = write!(
        s,
        "<text x=\"4\" y=\"{:.1}\" transform=\"rotate(-90 4 {:.1})\" dy=\"10\" \
         text-anchor=\"middle\">ms</text>",
        (TOP + BOTTOM) / 2.0,
        (TOP + BOTTOM) / 2.0
    );
    // x axis ticks at round times.
    let xs = x_step_ms(to_ms - from_ms);
    let mut t = (from_ms.div_euclid(xs) + 1) * xs;
    while t <= to_ms {
        let xx = x(t);
        let _ = write!(
            s,
            "<line class=\"tick\" x1=\"{xx:.1}\" y1=\"{BOTTOM}\" x2=\"{xx:.1}\" y2=\"{:.1}\"/>\
             <text x=\"{xx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            BOTTOM + 4.0,
            BOTTOM + 17.0,
            clock(t)
        );
        t += xs;
    }
    let _ = write!(
        s,
        "<line class=\"base\" x1=\"{LEFT}\" y1=\"{BOTTOM}\" x2=\"{RIGHT}\" y2=\"{BOTTOM}\"/></g>"
    );

    if pts.is_empty() {
        let _ = write!(
            s,
            "<text class=\"empty\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">\
             no results in this window</text></svg>",
            (LEFT + RIGHT) / 2.0,
            (TOP + BOTTOM) / 2.0
        );
        return s;
    }

    // Up results as polylines, broken by results that were not up.
    let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for p in &pts {
        if p.status == "up" {
            if let Some(run) = runs.last_mut() {
                run.push((x(p.t_ms), y(p.latency_ms)));
            }
        } else if runs.last().is_some_and(|r| !r.is_empty()) {
            runs.push(Vec::new());
        }
    }
    for run in runs.iter().filter(|r| r.len() > 1) {
        s.push_str("<polyline class=\"line\" fill=\"none\" points=\"");
        for (i, (px, py)) in run.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            let _ = write!(s, "{px:.1},{py:.1}");
        }
        s.push_str("\"/>");
    }

    // A marker per point, with its tooltip; up points small, the others prominent.
    for p in &pts {
        let clamped = !(p.latency_ms.is_finite() && p.latency_ms <= top);
        let (class, r) = match p.status {
            "up" => ("up", 2.0),
            "degraded" => ("degraded", 4.0),
            _ => ("down", 4.0),
        };
        let _ = write!(
            s,
            "<circle class=\"pt {class}{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"{r}\">\
             <title>{} UTC · {} · {:.1} ms{}</title></circle>",
            if clamped { " clamped" } else { "" },
            x(p.t_ms),
            y(p.latency_ms),
            clock_s(p.t_ms),
            escape(p.status),
            p.latency_ms,
            if clamped { " (off scale)" } else { "" },
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    fn pt(i: i64, latency_ms: f64, status: &'static str) -> Point {
        Point {
            t_ms: T0 + i * 60_000,
            latency_ms,
            status,
        }
    }

    /// The `cy` of every circle, in document order.
    fn cys(svg: &str) -> Vec<f64> {
        svg.split("<circle")
            .skip(1)
            .filter_map(|c| {
                let rest = c.split("cy=\"").nth(1)?;
                rest.split('"').next()?.parse().ok()
            })
            .collect()
    }

    #[test]
    fn empty_input_draws_frame_and_says_so() {
        let svg = latency_svg(&[], T0, T0 + 3_600_000, "eu-west");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("viewBox=\"0 0 720 200\""));
        assert!(svg.contains("no results in this window"));
        assert!(!svg.contains("<circle") && !svg.contains("<polyline"));
        // x ticks are whole 10-minute marks for an hour's window.
        assert!(svg.contains(">22:20</text>"), "{svg}");
    }

    #[test]
    fn single_point() {
        let svg = latency_svg(&[pt(5, 12.0, "up")], T0, T0 + 3_600_000, "r");
        assert_eq!(svg.matches("<circle").count(), 1);
        // One point makes no line.
        assert!(!svg.contains("<polyline"));
        assert!(svg.contains("12.0 ms"));
        let cy = cys(&svg)[0];
        assert!(cy > TOP && cy < BOTTOM, "{cy}");
    }

    #[test]
    fn outlier_is_clamped_and_does_not_set_the_scale() {
        let mut points: Vec<Point> = (0..40)
            .map(|i| pt(i, 10.0 + (i % 5) as f64, "up"))
            .collect();
        points.push(pt(41, 5000.0, "up"));
        let svg = latency_svg(&points, T0, T0 + 3_600_000, "r");
        // p95 is 14 ms; x 1.2 = 16.8, so the axis tops out at 20 ms, not 5000.
        assert_eq!(y_scale(&points), (20.0, 5.0));
        assert!(svg.contains(">20</text>"));
        assert!(!svg.contains(">5000</text>"));
        assert_eq!(svg.matches("clamped").count(), 1);
        assert!(svg.contains("5000.0 ms (off scale)"));
        let ys = cys(&svg);
        let outlier = ys[ys.len() - 1];
        assert!(
            (outlier - TOP).abs() < 0.01,
            "clamped to the top edge: {outlier}"
        );
        assert!(ys.iter().all(|y| (TOP..=BOTTOM).contains(y)));
        assert_eq!(svg.matches("<polyline").count(), 1);
    }

    #[test]
    fn titles_are_escaped() {
        let svg = latency_svg(
            &[pt(1, 3.0, "up")],
            T0,
            T0 + 60_000,
            "<script>\"x\"&'y'</script>",
        );
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"));
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
    }

    #[test]
    fn down_and_degraded_markers_break_the_line() {
        let points = vec![
            pt(0, 10.0, "up"),
            pt(1, 11.0, "up"),
            pt(2, 10000.0, "down"),
            pt(3, 30.0, "degraded"),
            pt(4, 12.0, "up"),
            pt(5, 13.0, "up"),
        ];
        let svg = latency_svg(&points, T0, T0 + 600_000, "r");
        assert_eq!(svg.matches("class=\"pt down").count(), 1);
        assert_eq!(svg.matches("class=\"pt degraded").count(), 1);
        assert_eq!(svg.matches("class=\"pt up").count(), 4);
        assert_eq!(svg.matches("<polyline").count(), 2);
        // The timeout does not set the scale; it sits on the top edge.
        assert!(svg.contains("class=\"pt down clamped\""));
    }

    #[test]
    fn percentiles_and_steps() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 95.0), Some(95.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(0.03), 0.05);
        assert_eq!(nice_step(20.0), 20.0);
        assert_eq!(x_step_ms(3_600_000), 600_000);
        assert_eq!(clock(T0), "22:13");
        // All-zero latencies still give a usable axis.
        assert_eq!(y_scale(&[pt(0, 0.0, "up")]).0, 1.0);
    }
}
