//! Limits on what one result and one batch may carry, shared by both ends.
//!
//! The edge node enforces them where a result is made ([`fit`]): whatever does not fit is left
//! out and the result says so with a [`TRUNCATED_FACT`]. The coordinator checks every result
//! against the same numbers ([`check`]) and refuses one that still breaks them *alone*: the
//! result is acknowledged as rejected and counted against its node, while the rest of the batch
//! is stored. A limit lives here once so the two ends cannot drift apart again (they did: the
//! coordinator refused more than 64 metrics while the SNMP probe produced up to 10,000, and the
//! refusal closed the session, so the node resent the same batch forever).
//!
//! The numbers are sized for real gear: a walk of a 48-port switch's IF-MIB `ifTable` yields
//! about 1,100 values (22 columns x 50 rows), so a result carries up to [`MAX_METRICS`] = 4,096
//! values, room for such a walk plus `ifXTable`.

use crate::result::CheckResult;

/// Most named metrics in one result.
pub const MAX_METRICS: usize = 4096;
/// Longest metric name, in bytes (an OID of about 60 arcs, or a long column name plus index).
pub const MAX_METRIC_NAME_LEN: usize = 256;
/// Most facts in one result (one of them may be [`TRUNCATED_FACT`]).
pub const MAX_FACTS: usize = 16;
/// Longest fact name, in bytes.
pub const MAX_FACT_NAME_LEN: usize = 64;
/// Longest fact value, in bytes.
pub const MAX_FACT_VALUE_LEN: usize = 512;
/// Longest `detail` text, in bytes. It is stored with every raw result, so it stays short.
pub const MAX_DETAIL_LEN: usize = 1024;
/// Longest error message, in bytes.
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Longest monitor id, in bytes.
pub const MAX_MONITOR_ID_LEN: usize = 64;
/// Upper bound of one result's encoding, in bytes. Every result fits in a batch on its own.
pub const MAX_RESULT_BYTES: usize = 512 * 1024;
/// Most results in one batch frame.
pub const MAX_BATCH_RESULTS: usize = 1000;
/// Most encoded bytes of results in one batch frame (well under [`crate::MAX_FRAME_LEN`]).
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// Name of the fact that marks a result the edge node had to cut down; its value says what was
/// left out, e.g. `metrics: kept 4096 of 10000`.
pub const TRUNCATED_FACT: &str = "truncated";

/// Which limit a result breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Limit {
    /// [`MAX_MONITOR_ID_LEN`] (or an empty id).
    MonitorId,
    /// [`MAX_METRICS`].
    Metrics,
    /// [`MAX_METRIC_NAME_LEN`].
    MetricName,
    /// [`MAX_FACTS`].
    Facts,
    /// [`MAX_FACT_NAME_LEN`].
    FactName,
    /// [`MAX_FACT_VALUE_LEN`].
    FactValue,
    /// [`MAX_DETAIL_LEN`].
    Detail,
    /// [`MAX_MESSAGE_LEN`].
    Message,
    /// [`MAX_RESULT_BYTES`].
    ResultBytes,
}

impl Limit {
    /// Stable name used in API output and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::MonitorId => "monitor_id",
            Limit::Metrics => "metrics",
            Limit::MetricName => "metric_name",
            Limit::Facts => "facts",
            Limit::FactName => "fact_name",
            Limit::FactValue => "fact_value",
            Limit::Detail => "detail",
            Limit::Message => "message",
            Limit::ResultBytes => "result_bytes",
        }
    }

    /// The number the limit allows.
    pub fn max(self) -> usize {
        match self {
            Limit::MonitorId => MAX_MONITOR_ID_LEN,
            Limit::Metrics => MAX_METRICS,
            Limit::MetricName => MAX_METRIC_NAME_LEN,
            Limit::Facts => MAX_FACTS,
            Limit::FactName => MAX_FACT_NAME_LEN,
            Limit::FactValue => MAX_FACT_VALUE_LEN,
            Limit::Detail => MAX_DETAIL_LEN,
            Limit::Message => MAX_MESSAGE_LEN,
            Limit::ResultBytes => MAX_RESULT_BYTES,
        }
    }
}

/// A result that breaks a limit: which one, and by how much.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{} of {found} exceeds the limit of {}", .limit.as_str(), .limit.max())]
pub struct LimitExceeded {
    /// The limit broken.
    pub limit: Limit,
    /// What the result has (a count or a length in bytes).
    pub found: u64,
}

/// Checks `r` against every limit, in a fixed order; the first one broken is reported.
pub fn check(r: &CheckResult) -> Result<(), LimitExceeded> {
    let over = |limit: Limit, found: usize| {
        if found > limit.max() {
            Err(LimitExceeded {
                limit,
                found: found as u64,
            })
        } else {
            Ok(())
        }
    };
    if r.monitor_id.is_empty() {
        return Err(LimitExceeded {
            limit: Limit::MonitorId,
            found: 0,
        });
    }
    over(Limit::MonitorId, r.monitor_id.len())?;
    over(Limit::Metrics, r.metrics.len())?;
    over(
        Limit::MetricName,
        r.metrics.iter().map(|(n, _)| n.len()).max().unwrap_or(0),
    )?;
    over(Limit::Facts, r.facts.len())?;
    over(
        Limit::FactName,
        r.facts.iter().map(|(k, _)| k.len()).max().unwrap_or(0),
    )?;
    over(
        Limit::FactValue,
        r.facts.iter().map(|(_, v)| v.len()).max().unwrap_or(0),
    )?;
    over(Limit::Detail, r.detail.as_ref().map_or(0, String::len))?;
    over(
        Limit::Message,
        r.error.as_ref().map_or(0, |e| e.message.len()),
    )?;
    over(Limit::ResultBytes, encoded_len_bound(r))?;
    Ok(())
}

/// Cuts `r` down to the limits, keeping the first metrics and facts (probes emit the most
/// important first: timings, then values). Returns what was left out, also recorded in `r` as a
/// [`TRUNCATED_FACT`], or `None` when everything fitted.
///
/// A monitor id or error message cannot be cut meaningfully by the node; they come from the
/// coordinator and the probe and are clipped like the detail.
pub fn fit(r: &mut CheckResult) -> Option<String> {
    let mut cuts: Vec<String> = Vec::new();
    let metrics_before = r.metrics.len();
    r.metrics.retain(|(n, _)| n.len() <= MAX_METRIC_NAME_LEN);
    let long_names = metrics_before - r.metrics.len();
    if long_names > 0 {
        cuts.push(format!(
            "{long_names} metric names over {MAX_METRIC_NAME_LEN} bytes"
        ));
    }
    if r.metrics.len() > MAX_METRICS {
        cuts.push(format!(
            "metrics: kept {MAX_METRICS} of {}",
            r.metrics.len()
        ));
        r.metrics.truncate(MAX_METRICS);
    }
    let facts_before = r.facts.len();
    r.facts
        .retain(|(k, v)| k.len() <= MAX_FACT_NAME_LEN && v.len() <= MAX_FACT_VALUE_LEN);
    if r.facts.len() != facts_before {
        cuts.push(format!("{} oversized facts", facts_before - r.facts.len()));
    }
    if r.facts.len() > MAX_FACTS {
        // One place stays free for the marker.
        cuts.push(format!(
            "facts: kept {} of {}",
            MAX_FACTS - 1,
            r.facts.len()
        ));
        r.facts.truncate(MAX_FACTS - 1);
    }
    if let Some(d) = r.detail.as_mut() {
        if clip(d, MAX_DETAIL_LEN) {
            cuts.push(format!("detail clipped to {MAX_DETAIL_LEN} bytes"));
        }
    }
    if let Some(e) = r.error.as_mut() {
        if clip(&mut e.message, MAX_MESSAGE_LEN) {
            cuts.push(format!("message clipped to {MAX_MESSAGE_LEN} bytes"));
        }
    }
    clip(&mut r.monitor_id, MAX_MONITOR_ID_LEN);
    // Metrics are what makes a result large; drop from the end until the bound fits (the
    // marker below is accounted for by the slack in `encoded_len_bound`'s budget).
    let budget = MAX_RESULT_BYTES - MARKER_RESERVE;
    if encoded_len_bound(r) > budget {
        let kept_before = r.metrics.len();
        let mut size = encoded_len_bound(r);
        while size > budget {
            match r.metrics.pop() {
                Some((n, _)) => size -= metric_len_bound(&n),
                None => break,
            }
        }
        cuts.push(format!(
            "metrics: kept {} of {kept_before} to stay within {MAX_RESULT_BYTES} bytes",
            r.metrics.len()
        ));
    }
    if cuts.is_empty() {
        return None;
    }
    // A probe that cut its own output (an SNMP walk stopped at the limit) said so first.
    if let Some(i) = r.facts.iter().position(|(k, _)| k == TRUNCATED_FACT) {
        cuts.insert(0, r.facts.remove(i).1);
    }
    let mut note = cuts.join("; ");
    clip(&mut note, MAX_FACT_VALUE_LEN);
    r.facts.truncate(MAX_FACTS - 1);
    r.facts.push((TRUNCATED_FACT.to_owned(), note.clone()));
    Some(note)
}

/// Room kept for the truncation marker when [`fit`] sizes a result.
const MARKER_RESERVE: usize = MAX_FACT_NAME_LEN + MAX_FACT_VALUE_LEN + 2 * VARINT_MAX;

/// Longest postcard varint (a u64).
const VARINT_MAX: usize = 10;

fn str_len_bound(s: &str) -> usize {
    VARINT_MAX + s.len()
}

fn metric_len_bound(name: &str) -> usize {
    str_len_bound(name) + 8
}

/// An upper bound of `r`'s postcard encoding: every integer counted at its longest varint.
/// Cheap (no allocation) and never below the real size, so a result under the bound is under
/// the limit.
pub fn encoded_len_bound(r: &CheckResult) -> usize {
    const FIXED: usize = 4 * VARINT_MAX + 2 + 8 + 1 + 3; // seq, revision, checked_at, duration; status; f64; options; impaired
    FIXED
        + str_len_bound(&r.monitor_id)
        + r.error
            .as_ref()
            .map_or(0, |e| VARINT_MAX + str_len_bound(&e.message))
        + VARINT_MAX
        + r.metrics
            .iter()
            .map(|(n, _)| metric_len_bound(n))
            .sum::<usize>()
        + r.detail.as_deref().map_or(0, str_len_bound)
        + VARINT_MAX
        + r.facts
            .iter()
            .map(|(k, v)| str_len_bound(k) + str_len_bound(v))
            .sum::<usize>()
}

/// Cuts `s` to at most `max` bytes on a character boundary; returns whether it cut.
pub fn clip(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{CheckStatus, ErrorClass, ProbeError};

    fn result(metrics: usize) -> CheckResult {
        CheckResult {
            seq: 1,
            monitor_id: "mon_1".into(),
            revision: 1,
            checked_at_ms: 0,
            status: CheckStatus::Up,
            duration_us: 1,
            error: None,
            metrics: (0..metrics)
                .map(|i| (format!("1.3.6.1.2.1.2.2.1.10.{i}"), i as f64))
                .collect(),
            detail: None,
            facts: Vec::new(),
            impaired: false,
        }
    }

    #[test]
    fn a_switch_walk_fits_untouched() {
        let mut r = result(1_100);
        assert_eq!(check(&r), Ok(()));
        assert_eq!(fit(&mut r), None);
        assert_eq!(r.metrics.len(), 1_100);
    }

    #[test]
    fn fit_cuts_to_every_limit_and_marks_the_result() {
        let mut r = result(10_000);
        r.detail = Some("é".repeat(5_000));
        r.error = Some(ProbeError {
            class: ErrorClass::Protocol,
            message: "x".repeat(9_000),
        });
        r.facts = (0..40)
            .map(|i| (format!("f{i}"), "v".repeat(i * 20)))
            .collect();
        assert_eq!(check(&r).map_err(|e| e.limit), Err(Limit::Metrics));
        let note = fit(&mut r).expect("cut");
        assert!(note.contains("metrics: kept 4096 of 10000"), "{note}");
        assert_eq!(check(&r), Ok(()));
        assert_eq!(r.metrics.len(), MAX_METRICS);
        let marker = r.facts.iter().find(|(k, _)| k == TRUNCATED_FACT);
        assert_eq!(marker.map(|(_, v)| v.as_str()), Some(note.as_str()));
    }

    #[test]
    fn long_metric_names_cannot_push_a_result_past_its_byte_limit() {
        let mut r = result(0);
        r.metrics = (0..MAX_METRICS)
            .map(|i| (format!("{i:0>250}"), 1.0))
            .collect();
        assert_eq!(check(&r).map_err(|e| e.limit), Err(Limit::ResultBytes));
        fit(&mut r).expect("cut");
        assert_eq!(check(&r), Ok(()));
        let real = postcard::to_allocvec(&r).expect("encode").len();
        assert!(real <= MAX_RESULT_BYTES, "{real}");
    }

    #[test]
    fn the_bound_is_never_below_the_real_encoding() {
        let mut r = result(300);
        r.detail = Some("d".repeat(300));
        r.facts = vec![("k".into(), "v".repeat(200))];
        r.error = Some(ProbeError {
            class: ErrorClass::Timeout,
            message: "m".repeat(200),
        });
        let real = postcard::to_allocvec(&r).expect("encode").len();
        assert!(encoded_len_bound(&r) >= real);
    }

    #[test]
    fn check_names_the_limit_it_refuses() {
        let mut r = result(1);
        r.monitor_id = String::new();
        assert_eq!(check(&r).map_err(|e| e.limit), Err(Limit::MonitorId));
        let mut r = result(1);
        r.facts = vec![("k".into(), "v".repeat(MAX_FACT_VALUE_LEN + 1))];
        let e = check(&r).expect_err("too long");
        assert_eq!(e.limit, Limit::FactValue);
        assert_eq!(e.to_string(), "fact_value of 513 exceeds the limit of 512");
    }
}
