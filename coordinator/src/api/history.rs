//! History: `GET /v1/monitors/{id}/uptime` (uptime, state time, checks and latency per
//! bucket) and `GET /v1/reports/sla` (per monitor, JSON or CSV).
//!
//! Uptime is decided-state time, not a count of checks: what counts and what does not is
//! defined once in `netpulse_engine::history::uptime` and documented in docs/history.md.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use serde::Serialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::views::{parse_time, rfc3339};
use super::{data, ApiResult, Caller};
use crate::context::Context;
use crate::now_ms;
use netpulse_engine::history::{Resolution, Rollup, StateSeconds, Uptime};
use netpulse_engine::state::MAX_BUCKETS;

const DAY_MS: i64 = 86_400_000;

/// 9999-12-31T23:59:59.999Z: times past it (or before 1970) are refused rather than carried
/// into bucket arithmetic.
const LAST_MS: i64 = 253_402_300_799_999;

/// A validated `from`/`to`/`step`.
struct Range {
    from_ms: i64,
    to_ms: i64,
    step: Resolution,
}

/// Reads `from` and `to` (RFC 3339 or Unix ms; default: the last `default_span_ms` up to now)
/// and `step` (`1h` or `1d`; default `1h` up to 7 days, else `1d`).
fn range(q: &HashMap<String, String>, now: i64, default_span_ms: i64) -> Result<Range, ApiError> {
    let time = |field: &str| -> Result<Option<i64>, ApiError> {
        match q.get(field).filter(|s| !s.is_empty()) {
            Some(s) => parse_time(s).map(Some).ok_or_else(|| {
                ApiError::invalid_field(field, "must be an RFC 3339 time or Unix milliseconds")
            }),
            None => Ok(None),
        }
    };
    let to_ms = time("to")?.unwrap_or(now);
    let from_ms = time("from")?.unwrap_or(to_ms.saturating_sub(default_span_ms));
    for (field, t) in [("from", from_ms), ("to", to_ms)] {
        if !(0..=LAST_MS).contains(&t) {
            return Err(ApiError::invalid_field(
                field,
                "must lie in the years 1970 to 9999",
            ));
        }
    }
    if from_ms >= to_ms {
        return Err(ApiError::invalid_field("from", "must be before `to`"));
    }
    let step = match q.get("step").filter(|s| !s.is_empty()) {
        Some(s) => Resolution::from_step(s)
            .ok_or_else(|| ApiError::invalid_field("step", "must be 1h or 1d"))?,
        None if to_ms - from_ms <= 7 * DAY_MS => Resolution::Hour,
        None => Resolution::Day,
    };
    let w = step.width_ms();
    let buckets = (step.bucket_start(to_ms - 1) - step.bucket_start(from_ms)) / w + 1;
    if buckets > MAX_BUCKETS - 1 {
        return Err(ApiError::invalid_field(
            "step",
            format!(
                "the range holds {buckets} buckets of {}; at most {} (use a wider step)",
                step.step(),
                MAX_BUCKETS - 1
            ),
        ));
    }
    Ok(Range {
        from_ms,
        to_ms,
        step,
    })
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn pct(u: Option<f64>) -> Value {
    u.map_or(Value::Null, |p| json!((p * 1000.0).round() / 1000.0))
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// State time in seconds, every state named.
fn state_seconds(s: &StateSeconds) -> Value {
    json!({
        "up": seconds(s.up),
        "degraded": seconds(s.degraded),
        "down": seconds(s.down),
        "unknown": seconds(s.unknown),
        "maintenance": seconds(s.maintenance),
        "paused": seconds(s.paused),
    })
}

/// Checks and latency of a rollup.
fn checks(r: &Rollup) -> Value {
    let l = &r.latency;
    let q = |v: Option<f64>| v.map_or(Value::Null, |x| json!(round2(x)));
    json!({
        "checks": r.checks,
        "failed_checks": r.failed,
        "degraded_checks": r.degraded,
        // Share of checks not down: what one region saw, not a decided uptime.
        "check_success_pct": pct((r.checks > 0)
            .then(|| (r.checks - r.failed) as f64 * 100.0 / r.checks as f64)),
        "errors": r.by_class,
        "latency_ms": {
            "min": q((l.count > 0).then(|| l.min_us as f64 / 1000.0)),
            "mean": q(l.mean_ms()),
            "p50": q(l.quantile_ms(0.50)),
            "p95": q(l.quantile_ms(0.95)),
            "p99": q(l.quantile_ms(0.99)),
            "max": q((l.count > 0).then(|| l.max_us as f64 / 1000.0)),
        },
    })
}

fn uptime_fields(u: &Uptime, s: &StateSeconds) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("uptime_pct".into(), pct(u.uptime_pct));
    m.insert("downtime_s".into(), json!(seconds(u.downtime_ms)));
    m.insert("state_seconds".into(), state_seconds(s));
    m
}

/// `GET /v1/monitors/{id}/uptime?from=&to=&step=1h|1d`.
pub(super) async fn monitor_uptime(
    State(ctx): State<Context>,
    _c: Caller,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    if ctx.store().monitor(&id)?.is_none() {
        return Err(ApiError::not_found(format!("monitor {id}")));
    }
    let now = ctx.store().log_time(now_ms());
    let r = range(&q, now, DAY_MS)?;
    let store = ctx.store().clone();
    let report = tokio::task::spawn_blocking(move || {
        store.uptime_report(&id, r.from_ms, r.to_ms, r.step, now)
    })
    .await
    .map_err(ApiError::internal)??;
    let buckets: Vec<Value> = report
        .buckets
        .iter()
        .map(|b| {
            let mut m = uptime_fields(&b.uptime, &b.states);
            m.insert("start".into(), json!(rfc3339(b.start_ms)));
            if let Value::Object(c) = checks(&b.all) {
                m.extend(c);
            }
            let regions: BTreeMap<&str, Value> = b
                .regions
                .iter()
                .map(|(name, r)| (name.as_str(), checks(r)))
                .collect();
            m.insert("regions".into(), json!(regions));
            Value::Object(m)
        })
        .collect();
    let mut body = uptime_fields(&report.uptime, &report.states);
    body.insert("from".into(), json!(rfc3339(report.from_ms)));
    body.insert("to".into(), json!(rfc3339(report.to_ms)));
    body.insert("step".into(), json!(report.step.step()));
    body.insert("buckets".into(), json!(buckets));
    Ok(data(Value::Object(body)).into_response())
}

/// One row of the SLA report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlaRow {
    /// Monitor id.
    pub monitor_id: String,
    /// Display name.
    pub name: String,
    /// Uptime over the range (3 decimals); `None` when no time counted.
    pub uptime_pct: Option<f64>,
    /// Time decided down.
    pub downtime_s: f64,
    /// Incidents of the monitor overlapping the range.
    pub incidents: u64,
    /// The target it is held to.
    pub target_pct: f64,
    /// Uptime below the target. A monitor with no counted time has no uptime and no breach.
    pub breach: bool,
}

/// The SLA report's rows over `[from_ms, to_ms)` (time counted up to `now`), sorted by name.
/// Blocking (reads every monitor's timeline): call it off the async workers.
pub fn sla_rows(
    store: &crate::store::StateStore,
    from_ms: i64,
    to_ms: i64,
    target: f64,
    now: i64,
) -> Result<Vec<SlaRow>, netpulse_engine::state::StateError> {
    let mut incidents: HashMap<String, u64> = HashMap::new();
    for inc in store.incidents(usize::MAX, |i| {
        i.started_at_ms < to_ms && i.resolved_at_ms.is_none_or(|e| e >= from_ms)
    })? {
        if let Some(m) = inc.monitor_id {
            *incidents.entry(m).or_default() += 1;
        }
    }
    let mut rows = Vec::new();
    for m in store.monitors()? {
        let u = store.state_time(&m.id, from_ms, to_ms, now)?.uptime();
        rows.push(SlaRow {
            incidents: incidents.get(&m.id).copied().unwrap_or(0),
            uptime_pct: u.uptime_pct.map(|p| (p * 1000.0).round() / 1000.0),
            downtime_s: seconds(u.downtime_ms),
            breach: u.uptime_pct.is_some_and(|p| p < target),
            target_pct: target,
            monitor_id: m.id,
            name: m.name,
        });
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.monitor_id.cmp(&b.monitor_id)));
    Ok(rows)
}

/// `GET /v1/reports/sla?from=&to=&target=99.9` (default: the last 30 days, target 99.9);
/// `Accept: text/csv` or `format=csv` answers CSV.
pub(super) async fn sla_report(
    State(ctx): State<Context>,
    _c: Caller,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let now = ctx.store().log_time(now_ms());
    let r = range(&q, now, 30 * DAY_MS)?;
    let target = match q.get("target").filter(|s| !s.is_empty()) {
        Some(t) => t
            .parse::<f64>()
            .ok()
            .filter(|t| (0.0..=100.0).contains(t))
            .ok_or_else(|| ApiError::invalid_field("target", "must be a percentage, 0 to 100"))?,
        None => 99.9,
    };
    let csv = match q.get("format").map(String::as_str) {
        Some("csv") => true,
        Some("json") => false,
        Some(_) => return Err(ApiError::invalid_field("format", "must be json or csv")),
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv")),
    };
    let store = ctx.store().clone();
    let (from_ms, to_ms) = (r.from_ms, r.to_ms);
    let rows = tokio::task::spawn_blocking(move || sla_rows(&store, from_ms, to_ms, target, now))
        .await
        .map_err(ApiError::internal)??;
    if csv {
        let mut out =
            String::from("monitor_id,name,uptime_pct,downtime_s,incidents,target_pct,breach\n");
        for row in &rows {
            out.push_str(&format!(
                "{},{},{},{},{},{},{}\n",
                csv_field(&row.monitor_id),
                csv_field(&row.name),
                row.uptime_pct.map_or(String::new(), |p| p.to_string()),
                row.downtime_s,
                row.incidents,
                row.target_pct,
                row.breach
            ));
        }
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response());
    }
    Ok(data(json!({
        "from": rfc3339(r.from_ms),
        "to": rfc3339(r.to_ms),
        "target_pct": target,
        "monitors": rows,
    }))
    .into_response())
}

/// A CSV field (RFC 4180): quoted when it holds a comma, quote or line break. A leading
/// `=`, `+`, `-` or `@` is prefixed with `'` so a spreadsheet does not run it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("api"), "api");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
    }
}
