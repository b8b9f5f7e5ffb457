//! The two text formats: family headers, samples, histograms and label escaping.

use std::fmt::Write as _;

/// Which text format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text exposition format 0.0.4.
    Prometheus,
    /// OpenMetrics 1.0 text (ends with `# EOF`; counters and info families typed as such).
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of a body in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// The format an `Accept` header asks for: OpenMetrics when it names
    /// `application/openmetrics-text`, else the Prometheus text format.
    pub fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }
}

/// A metric family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// A value that goes up and down.
    Gauge,
    /// Named `*_total` (OpenMetrics names the family without it).
    Counter,
    /// `_bucket`, `_count` and `_sum` series.
    Histogram,
    /// A gauge named `*_info` with value 1 (OpenMetrics: type `info`).
    Info,
}

/// A fixed-bucket histogram's totals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistogramValues {
    /// Upper bounds of the finite buckets, ascending.
    pub bounds: &'static [f64],
    /// Observations per bucket (not cumulative): one per bound, then one for above the last.
    pub counts: Vec<u64>,
    /// Sum of all observations.
    pub sum: f64,
}

impl HistogramValues {
    /// Observations in all buckets.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// Appends `k="v"` (escaped) to a label list, with a comma when it is not the first.
pub fn push_label(out: &mut String, k: &str, v: &str) {
    if !out.is_empty() {
        out.push(',');
    }
    out.push_str(k);
    out.push_str("=\"");
    escape_into(out, v);
    out.push('"');
}

/// Escapes a label value: backslash, double quote and line feed.
pub fn escape_label_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    escape_into(&mut out, v);
    out
}

fn escape_into(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Writes one exposition body.
#[derive(Debug)]
pub struct Writer {
    out: String,
    format: Format,
}

impl Writer {
    /// An empty body in `format`, with room for about `capacity` bytes.
    pub fn new(format: Format, capacity: usize) -> Self {
        Self {
            out: String::with_capacity(capacity),
            format,
        }
    }

    /// The format being written.
    pub fn format(&self) -> Format {
        self.format
    }

    /// `# HELP` and `# TYPE` of a family. OpenMetrics names a family without the suffix its
    /// samples carry (`_total`, `_info`).
    pub fn family(&mut self, name: &str, ty: Type, help: &str) {
        let (family, ty) = match (ty, self.format) {
            (Type::Info, Format::OpenMetrics) => (name.trim_end_matches("_info"), "info"),
            (Type::Counter, Format::OpenMetrics) => (name.trim_end_matches("_total"), "counter"),
            (Type::Counter, Format::Prometheus) => (name, "counter"),
            (Type::Histogram, _) => (name, "histogram"),
            (Type::Info | Type::Gauge, _) => (name, "gauge"),
        };
        let _ = writeln!(self.out, "# HELP {family} {help}");
        let _ = writeln!(self.out, "# TYPE {family} {ty}");
    }

    /// One sample; `labels` as [`push_label`] builds them (no braces). Non-finite values are
    /// spelt `NaN`, `+Inf`, `-Inf` as both formats want.
    pub fn sample(&mut self, name: &str, labels: &str, v: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            self.out.push_str(labels);
            self.out.push('}');
        }
        self.out.push(' ');
        if v.is_nan() {
            self.out.push_str("NaN");
        } else if v.is_infinite() {
            self.out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
        } else {
            let _ = write!(self.out, "{v}");
        }
        self.out.push('\n');
    }

    /// A family and its one unlabelled sample, or nothing when `v` is unknown.
    pub fn optional(&mut self, name: &str, ty: Type, help: &str, v: Option<f64>) {
        if let Some(v) = v {
            self.family(name, ty, help);
            self.sample(name, "", v);
        }
    }

    /// `name`'s `_bucket` (cumulative, with `le`), `_count` and `_sum` series. Always through
    /// `+Inf`, even with no counts, so the family is a valid histogram.
    pub fn histogram(&mut self, name: &str, labels: &str, h: &HistogramValues) {
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0u64;
        for i in 0..=h.bounds.len() {
            cumulative += h.counts.get(i).copied().unwrap_or(0);
            let le = match h.bounds.get(i) {
                // `{:?}` keeps a decimal point ("1.0"), as OpenMetrics wants `le` spelt.
                Some(b) => format!("{b:?}"),
                None => "+Inf".to_owned(),
            };
            let mut l = labels.to_owned();
            push_label(&mut l, "le", &le);
            self.sample(&bucket, &l, cumulative as f64);
        }
        self.sample(&format!("{name}_count"), labels, cumulative as f64);
        self.sample(&format!("{name}_sum"), labels, h.sum);
    }

    /// The body (with `# EOF` in OpenMetrics).
    pub fn finish(mut self) -> String {
        if self.format == Format::OpenMetrics {
            self.out.push_str("# EOF\n");
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_samples_and_histograms_in_both_formats() {
        let h = HistogramValues {
            bounds: &[0.1, 1.0],
            counts: vec![1, 2, 3],
            sum: 4.5,
        };
        let mut w = Writer::new(Format::OpenMetrics, 0);
        w.family("x_total", Type::Counter, "X.");
        let mut l = String::new();
        push_label(&mut l, "k", "a\"b\\c\nd");
        w.sample("x_total", &l, f64::INFINITY);
        w.family("h", Type::Histogram, "H.");
        w.histogram("h", "", &h);
        w.optional("absent", Type::Gauge, "A.", None);
        let text = w.finish();
        assert!(text.contains("# TYPE x counter\n"), "{text}");
        assert!(
            text.contains("x_total{k=\"a\\\"b\\\\c\\nd\"} +Inf\n"),
            "{text}"
        );
        assert!(text.contains("h_bucket{le=\"0.1\"} 1\nh_bucket{le=\"1.0\"} 3\nh_bucket{le=\"+Inf\"} 6\nh_count 6\nh_sum 4.5\n"), "{text}");
        assert!(!text.contains("absent"));
        assert!(text.ends_with("# EOF\n"));
        let mut p = Writer::new(Format::Prometheus, 0);
        p.family("x_total", Type::Counter, "X.");
        p.sample("n", "", f64::NAN);
        assert_eq!(
            p.finish(),
            "# HELP x_total X.\n# TYPE x_total counter\nn NaN\n"
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;version=1.0.0")),
            Format::OpenMetrics
        );
        assert_eq!(Format::negotiate(None), Format::Prometheus);
    }
}
