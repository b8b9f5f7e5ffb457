//! What each coordinator stores, per edge node, learned from `GET /v1/monitors/{id}/results`:
//! the basis of "no acknowledged result lost" and "no duplicate stored".
//!
//! A node numbers its results 1, 2, 3, ... across all its checks, and nothing in a chaos run is
//! legitimately dropped (no monitor is deleted or narrowed), so on a converged coordinator the
//! node's stored sequences must be exactly `1..=committed`, and every sequence the node's outbox
//! marked acknowledged must be among them.
//!
//! The listing has no upper time bound and returns at most 1000 newest rows, so the history is
//! read incrementally: per coordinator and node, `prefix` is the highest sequence below which
//! everything has been seen, and each round lists results since the check time of that prefix
//! (minus a margin: a node numbers results when they finish, and a result started before a
//! SIGSTOP can finish after later ones started). A listing that hits the row limit would hide
//! rows, so it fails the run instead.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::http::Http;

/// Rows per listing (the API's maximum).
const LIMIT: usize = 1000;

/// How far before a node's prefix each listing starts.
const MARGIN_MS: i64 = 60_000;

/// One stored result, as much as the checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub monitor: String,
    pub node: String,
    pub seq: u64,
    pub checked_at_ms: i64,
}

/// One node's stored sequences on one coordinator.
#[derive(Debug, Default)]
pub struct NodeHistory {
    /// seq -> (monitor, checked at).
    pub seen: BTreeMap<u64, (String, i64)>,
    /// Every sequence in `1..=prefix` has been seen.
    pub prefix: u64,
}

impl NodeHistory {
    fn advance(&mut self) {
        while self.seen.contains_key(&(self.prefix + 1)) {
            self.prefix += 1;
        }
    }

    /// The sequences present around `seq`, for a violation message.
    pub fn around(&self, seq: u64) -> Vec<u64> {
        self.seen
            .range(seq.saturating_sub(5)..=seq + 5)
            .map(|(s, _)| *s)
            .collect()
    }
}

/// Per coordinator slot, per node id.
pub struct Ledger {
    pub coords: Vec<BTreeMap<String, NodeHistory>>,
    /// Rows read in total (all coordinators), for the summary.
    pub rows_read: u64,
}

impl Ledger {
    pub fn new(coordinators: usize) -> Ledger {
        Ledger {
            coords: (0..coordinators).map(|_| BTreeMap::new()).collect(),
            rows_read: 0,
        }
    }

    /// Where the next listing on coordinator `c` starts (Unix ms), or `None` for everything.
    fn since(&self, c: usize, nodes: &[String]) -> Option<i64> {
        let mut since = i64::MAX;
        for n in nodes {
            let h = self.coords[c].get(n)?;
            let (_, at) = h.seen.get(&h.prefix)?;
            since = since.min(*at - MARGIN_MS);
        }
        (since != i64::MAX).then_some(since)
    }

    /// Lists every monitor's results on coordinator `c` since its window start and merges them.
    /// Returns violations of "no two stored results with the same node and sequence".
    pub async fn refresh(
        &mut self,
        http: &Http,
        c: usize,
        addr: SocketAddr,
        monitors: &[String],
        nodes: &[String],
    ) -> Result<Vec<String>, String> {
        let since = self.since(c, nodes);
        let rows = list(http, addr, monitors, since).await?;
        self.rows_read += rows.len() as u64;
        let mut violations = Vec::new();
        // Within one listing a (node, seq) must appear once; across listings the same row
        // reappears (windows overlap) and must be identical.
        let mut this_listing: BTreeMap<(&str, u64), &Row> = BTreeMap::new();
        for row in &rows {
            if let Some(other) = this_listing.insert((&row.node, row.seq), row) {
                violations.push(format!(
                    "coordinator {c} stores node {} seq {} twice: {other:?} and {row:?}",
                    row.node, row.seq
                ));
            }
            let h = self.coords[c].entry(row.node.clone()).or_default();
            match h.seen.get(&row.seq) {
                Some((m, at)) if (m, *at) != (&row.monitor, row.checked_at_ms) => {
                    violations.push(format!(
                        "coordinator {c} stores node {} seq {} twice: ({m}, {at}) and {row:?}",
                        row.node, row.seq
                    ))
                }
                Some(_) => {}
                None => {
                    h.seen
                        .insert(row.seq, (row.monitor.clone(), row.checked_at_ms));
                }
            }
        }
        for h in self.coords[c].values_mut() {
            h.advance();
        }
        Ok(violations)
    }

    pub fn history(&self, c: usize, node: &str) -> Option<&NodeHistory> {
        self.coords[c].get(node)
    }
}

/// Every monitor's results since `since`, eight requests at a time.
async fn list(
    http: &Http,
    addr: SocketAddr,
    monitors: &[String],
    since: Option<i64>,
) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for chunk in monitors.chunks(8) {
        let mut set = tokio::task::JoinSet::new();
        for m in chunk {
            let (http, m) = (http.clone(), m.clone());
            let path = match since {
                Some(s) => format!("/v1/monitors/{m}/results?limit={LIMIT}&since={s}"),
                None => format!("/v1/monitors/{m}/results?limit={LIMIT}"),
            };
            set.spawn(async move {
                for _ in 0..3 {
                    if let Some(d) = http.data(addr, &path).await {
                        return Ok((m, d));
                    }
                }
                Err(format!("{addr}: GET {path} failed three times"))
            });
        }
        while let Some(joined) = set.join_next().await {
            let (m, data) = joined.expect("listing task")?;
            let list = data.as_array().cloned().unwrap_or_default();
            if list.len() >= LIMIT {
                return Err(format!(
                    "{addr}: monitor {m} listing hit {LIMIT} rows since {since:?}; the window \
                     would hide results (lower the monitor count or raise the interval)"
                ));
            }
            for r in list {
                let (Some(node), Some(seq), Some(at)) = (
                    r["node"].as_str(),
                    r["seq"].as_u64(),
                    r["checked_at"].as_str().and_then(parse_rfc3339_ms),
                ) else {
                    return Err(format!("{addr}: monitor {m}: unreadable result {r}"));
                };
                rows.push(Row {
                    monitor: m.clone(),
                    node: node.to_owned(),
                    seq,
                    checked_at_ms: at,
                });
            }
        }
    }
    Ok(rows)
}

/// `2026-11-23T01:48:34.120Z` (the API's only time format) -> Unix ms.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, mo, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (h, mi, sec) = (t.next()??, t.next()??, t.next()??);
    let ms: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    // Days from civil (H. Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (mo + if mo > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + mi) * 60_000 + sec * 1000 + ms)
}

#[test]
fn parses_the_api_time_format() {
    assert_eq!(
        parse_rfc3339_ms("2023-11-14T22:13:20.123Z"),
        Some(1_700_000_000_123)
    );
    assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00.000Z"), Some(0));
    assert_eq!(parse_rfc3339_ms("yesterday"), None);
}
