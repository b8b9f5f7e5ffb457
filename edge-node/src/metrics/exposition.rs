//! The edge node's exposition: a [`Snapshot`] of plain values in, Prometheus text (0.0.4) or
//! OpenMetrics 1.0 out. No I/O, no clock: [`super::gather`] fills the snapshot, this module
//! only writes it, so every name, label and unit a scrape shows is tested here without a node.
//!
//! Labels are bounded: `kind` (seven probe kinds), `status` (three), `class` (the error
//! classes), and on `netpulse_edge_info` alone the node's id, region and version. Nothing about
//! a check's target ever reaches a snapshot. Label values are escaped as both formats require
//! (`\\`, `"`, newline).

pub use netpulse_exposition::{escape_label_value, Format, HistogramValues, ProcessSample};
use netpulse_exposition::{push_label, Type, Writer};

/// Checks of one probe kind since the node started.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KindSample {
    /// Probe kind (`http`, `tcp`, ...).
    pub kind: &'static str,
    /// Checks finished, by status (`up`, `degraded`, `down`); statuses never seen are left out.
    pub by_status: Vec<(&'static str, u64)>,
    /// Checks finished with an error, by error class (`timeout`, `refused`, ...).
    pub by_class: Vec<(&'static str, u64)>,
    /// How long the probes ran (the result's `duration_us`).
    pub duration: HistogramValues,
}

/// Everything one scrape of an edge node shows, as plain values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// The node's id (empty before enrolment).
    pub node_id: String,
    /// Its region.
    pub region: String,
    /// NetPulse version.
    pub version: String,
    /// Whether a session with a coordinator is established now.
    pub session_connected: bool,
    /// Connection attempts to a coordinator since start.
    pub session_attempts: u64,
    /// Sessions established (welcomed by a coordinator) since start.
    pub sessions_established: u64,
    /// Results in the outbox waiting for a coordinator's acknowledgement.
    pub outbox_results: u64,
    /// Age of the oldest of those, seconds (`Some(0.0)` when there are none, `None` when
    /// unknown).
    pub outbox_oldest_age_seconds: Option<f64>,
    /// Results stored in the outbox since start.
    pub results_stored: u64,
    /// Results acknowledged as committed (and dropped from the outbox) since start.
    pub results_acknowledged: u64,
    /// Results cut down to the protocol's limits before they were stored, since start.
    pub results_truncated: u64,
    /// Checks in the current assignment.
    pub assigned_checks: u64,
    /// Whether the node's canaries say its own network is impaired.
    pub impaired: bool,
    /// Per probe kind, ordered by kind.
    pub kinds: Vec<KindSample>,
    /// How late checks started against their due time.
    pub lateness: HistogramValues,
    /// The process's resources.
    pub process: ProcessSample,
}

/// Writes the exposition text of `s` in `format`.
pub fn render(s: &Snapshot, format: Format) -> String {
    let mut w = Writer::new(format, 8192);
    node(&mut w, s);
    checks(&mut w, s);
    s.process.write(&mut w);
    w.finish()
}

fn bool_value(b: bool) -> f64 {
    f64::from(u8::from(b))
}

fn node(w: &mut Writer, s: &Snapshot) {
    w.family(
        "netpulse_edge_info",
        Type::Info,
        "This edge node: its id, region and version (value 1).",
    );
    w.sample(
        "netpulse_edge_info",
        &labels(&[
            ("node_id", &s.node_id),
            ("region", &s.region),
            ("version", &s.version),
        ]),
        1.0,
    );
    let one = |w: &mut Writer, name: &str, ty: Type, help: &str, v: f64| {
        w.family(name, ty, help);
        w.sample(name, "", v);
    };
    one(
        w,
        "netpulse_edge_session_connected",
        Type::Gauge,
        "1 while a session with a coordinator is established, else 0.",
        bool_value(s.session_connected),
    );
    one(
        w,
        "netpulse_edge_session_attempts_total",
        Type::Counter,
        "Connection attempts to a coordinator (each reconnect is one more).",
        s.session_attempts as f64,
    );
    one(
        w,
        "netpulse_edge_session_established_total",
        Type::Counter,
        "Sessions a coordinator accepted (welcomed).",
        s.sessions_established as f64,
    );
    one(
        w,
        "netpulse_edge_outbox_results",
        Type::Gauge,
        "Results in the outbox waiting for a coordinator's acknowledgement.",
        s.outbox_results as f64,
    );
    if let Some(age) = s.outbox_oldest_age_seconds {
        one(
            w,
            "netpulse_edge_outbox_oldest_age_seconds",
            Type::Gauge,
            "Age of the oldest unacknowledged result (node clock), 0 when none waits.",
            age,
        );
    }
    one(
        w,
        "netpulse_edge_results_stored_total",
        Type::Counter,
        "Results produced and stored in the outbox.",
        s.results_stored as f64,
    );
    one(
        w,
        "netpulse_edge_results_acknowledged_total",
        Type::Counter,
        "Results a coordinator acknowledged as committed (dropped from the outbox).",
        s.results_acknowledged as f64,
    );
    one(
        w,
        "netpulse_edge_results_truncated_total",
        Type::Counter,
        "Results cut down to the protocol's limits before they were stored.",
        s.results_truncated as f64,
    );
    one(
        w,
        "netpulse_edge_assigned_checks",
        Type::Gauge,
        "Checks in this node's current assignment.",
        s.assigned_checks as f64,
    );
    one(
        w,
        "netpulse_edge_impaired",
        Type::Gauge,
        "1 while this node's canaries fail (its results are marked impaired and do not vote).",
        bool_value(s.impaired),
    );
}

fn checks(w: &mut Writer, s: &Snapshot) {
    let name = "netpulse_edge_checks_total";
    w.family(name, Type::Counter, "Checks run, by probe kind and status.");
    for k in &s.kinds {
        for (status, n) in &k.by_status {
            let l = labels(&[("kind", k.kind), ("status", status)]);
            w.sample(name, &l, *n as f64);
        }
    }
    let name = "netpulse_edge_check_errors_total";
    w.family(
        name,
        Type::Counter,
        "Checks that reported an error, by probe kind and error class.",
    );
    for k in &s.kinds {
        for (class, n) in &k.by_class {
            let l = labels(&[("kind", k.kind), ("class", class)]);
            w.sample(name, &l, *n as f64);
        }
    }
    let name = "netpulse_edge_probe_duration_seconds";
    w.family(name, Type::Histogram, "How long probes ran, by kind.");
    for k in &s.kinds {
        w.histogram(name, &labels(&[("kind", k.kind)]), &k.duration);
    }
    let name = "netpulse_edge_schedule_lateness_seconds";
    w.family(
        name,
        Type::Histogram,
        "How long after its due time each check started (a node short of time or permits shows here).",
    );
    w.histogram(name, "", &s.lateness);
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        push_label(&mut out, k, v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: &[f64] = &[0.01, 0.1, 1.0];

    fn snapshot() -> Snapshot {
        Snapshot {
            node_id: "node_1".into(),
            region: "eu \"west\"\n\\1".into(),
            version: "0.1.0".into(),
            session_connected: true,
            session_attempts: 3,
            sessions_established: 2,
            outbox_results: 7,
            outbox_oldest_age_seconds: Some(1.5),
            results_stored: 100,
            results_acknowledged: 93,
            results_truncated: 1,
            assigned_checks: 4,
            impaired: false,
            kinds: vec![KindSample {
                kind: "http",
                by_status: vec![("up", 90), ("down", 10)],
                by_class: vec![("timeout", 10)],
                duration: HistogramValues {
                    bounds: BOUNDS,
                    counts: vec![5, 80, 10, 5],
                    sum: 42.5,
                },
            }],
            lateness: HistogramValues {
                bounds: BOUNDS,
                counts: vec![99, 1, 0, 0],
                sum: 0.2,
            },
            process: ProcessSample {
                resident_memory_bytes: Some(10 << 20),
                cpu_seconds: Some(1.25),
                open_fds: Some(12),
                ..ProcessSample::default()
            },
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let text = render(&snapshot(), Format::Prometheus);
        assert!(
            text.contains(r#"netpulse_edge_info{node_id="node_1",region="eu \"west\"\n\\1",version="0.1.0"} 1"#),
            "{text}"
        );
        for line in text.lines() {
            assert!(
                line.starts_with('#') || line.rsplit_once(' ').is_some(),
                "{line}"
            );
        }
    }

    #[test]
    fn node_health_and_checks_are_written() {
        let text = render(&snapshot(), Format::Prometheus);
        for want in [
            "# TYPE netpulse_edge_session_attempts_total counter\n",
            "netpulse_edge_session_connected 1\n",
            "netpulse_edge_session_attempts_total 3\n",
            "netpulse_edge_session_established_total 2\n",
            "netpulse_edge_outbox_results 7\n",
            "netpulse_edge_outbox_oldest_age_seconds 1.5\n",
            "netpulse_edge_results_stored_total 100\n",
            "netpulse_edge_results_acknowledged_total 93\n",
            "netpulse_edge_results_truncated_total 1\n",
            "netpulse_edge_assigned_checks 4\n",
            "netpulse_edge_impaired 0\n",
            "netpulse_edge_checks_total{kind=\"http\",status=\"up\"} 90\n",
            "netpulse_edge_check_errors_total{kind=\"http\",class=\"timeout\"} 10\n",
            "process_resident_memory_bytes 10485760\n",
            "process_cpu_seconds_total 1.25\n",
            "process_open_fds 12\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        // Unreadable process values are left out, not written as zero.
        assert!(!text.contains("process_max_fds"));
        assert!(!text.contains("# EOF"));
        let mut s = snapshot();
        s.outbox_oldest_age_seconds = None;
        assert!(!render(&s, Format::Prometheus).contains("oldest_age"));
    }

    #[test]
    fn histograms_are_cumulative_with_count_and_sum() {
        let text = render(&snapshot(), Format::Prometheus);
        for want in [
            "# TYPE netpulse_edge_probe_duration_seconds histogram\n",
            "netpulse_edge_probe_duration_seconds_bucket{kind=\"http\",le=\"0.01\"} 5\n",
            "netpulse_edge_probe_duration_seconds_bucket{kind=\"http\",le=\"0.1\"} 85\n",
            "netpulse_edge_probe_duration_seconds_bucket{kind=\"http\",le=\"1.0\"} 95\n",
            "netpulse_edge_probe_duration_seconds_bucket{kind=\"http\",le=\"+Inf\"} 100\n",
            "netpulse_edge_probe_duration_seconds_count{kind=\"http\"} 100\n",
            "netpulse_edge_probe_duration_seconds_sum{kind=\"http\"} 42.5\n",
            "netpulse_edge_schedule_lateness_seconds_bucket{le=\"+Inf\"} 100\n",
            "netpulse_edge_schedule_lateness_seconds_count 100\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }

    #[test]
    fn families_are_contiguous_and_typed_once() {
        let mut s = snapshot();
        let mut tcp = s.kinds[0].clone();
        tcp.kind = "tcp";
        s.kinds.push(tcp);
        let text = render(&s, Format::Prometheus);
        let mut seen = std::collections::BTreeSet::new();
        let mut current = String::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap_or_default().to_owned();
                assert!(seen.insert(name.clone()), "{name} typed twice");
                current = name;
            } else if !line.starts_with('#') {
                let name: String = line
                    .chars()
                    .take_while(|c| *c != '{' && *c != ' ')
                    .collect();
                assert!(
                    name.starts_with(&current),
                    "{name} outside its family {current}"
                );
            }
        }
    }

    #[test]
    fn openmetrics_names_families_without_suffixes_and_ends_with_eof() {
        let text = render(&snapshot(), Format::OpenMetrics);
        assert!(text.ends_with("# EOF\n"));
        assert!(text.contains("# TYPE netpulse_edge_session_attempts counter\n"));
        assert!(text.contains("netpulse_edge_session_attempts_total 3\n"));
        assert!(text.contains("# TYPE netpulse_edge info\n"));
        assert!(text.contains("# TYPE process_cpu_seconds counter\n"));
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;version=1.0.0,*/*;q=0.1")),
            Format::OpenMetrics
        );
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Prometheus);
        assert_eq!(Format::negotiate(None), Format::Prometheus);
    }

    #[test]
    fn non_finite_values_are_spelt_as_the_formats_want() {
        let mut s = snapshot();
        s.outbox_oldest_age_seconds = Some(f64::NAN);
        s.process.cpu_seconds = Some(f64::INFINITY);
        let text = render(&s, Format::Prometheus);
        assert!(text.contains("netpulse_edge_outbox_oldest_age_seconds NaN\n"));
        assert!(text.contains("process_cpu_seconds_total +Inf\n"));
    }
}
