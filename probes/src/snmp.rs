//! SNMP probe (async-snmp): GET of chosen objects and WALK of subtrees over SNMPv2c or SNMPv3
//! (USM with authentication and privacy), thresholds on numeric values, and per-second rates
//! of counters between two runs of the same check.
//!
//! Every run fetches `sysUpTime.0` with the GET (reported as `sys_uptime_s`). Numeric values
//! (integers, counters, gauges, time ticks, and strings that hold a number such as UCD's
//! `laLoad`) become metrics named by their dotted OID. Rates need the previous sample, so the
//! probe keeps one sample per rate OID in itself: the edge node builds one [`SnmpProbe`] per
//! check revision and reuses it for every run. A counter lower than its previous sample is
//! taken as one wrap (at 2^32 for Counter32, 2^64 for Counter64), unless `sysUpTime` went
//! backwards too: then the agent restarted, its counters started again from zero, and that
//! run reports no rate.
//!
//! Error classes: name resolution `dns`; ICMP port unreachable `refused`; no answer
//! `timeout` (an SNMPv2c agent silently drops requests with a wrong community, so that is a
//! timeout too); SNMPv3 unknown user, wrong digest (authentication password or protocol),
//! decryption error (privacy password or protocol) or unsupported security level `auth`;
//! `noSuchObject`/`noSuchInstance` for a GET OID, a walk that finds nothing, a rate OID that
//! is not a counter, and a breached threshold `assertion`; a malformed answer `protocol`.
//! The community and the USM passwords never appear in messages or `Debug` output.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_snmp::v3::ReportStatus;
use async_snmp::{
    Auth, AuthProtocol, Client, EngineCache, Error as SnmpError, ErrorStatus, MasterKeys, Oid,
    PrivProtocol, Retry, UsmConfig, Value,
};
use netpulse_protocol::check::{
    parse_numeric_oid, SnmpAuthProtocol, SnmpPrivProtocol, SnmpSpec, SnmpThreshold, SnmpVersion,
    ThresholdSeverity, SNMP_SYS_UPTIME_OID,
};
use netpulse_protocol::limits;
use netpulse_protocol::result::ErrorClass;
use tokio::time::Instant;

use super::policy::TargetPolicy;
use super::{ms, net, ProbeBuildError, ProbeContext, ProbeKind, ProbeOutcome};

/// Most values one walk visits, numeric or not, so a mistaken `walk` of `1.3.6.1` cannot pin a
/// node. Walks also stop once the result holds [`limits::MAX_METRICS`] values, the most a result
/// can carry; either way the rest is left out and the result is marked truncated.
pub const MAX_WALK_ITEMS: usize = 10_000;

/// Longest [`ProbeOutcome::detail`] text.
const MAX_DETAIL: usize = 2048;

/// A validated SNMP check, with the counter samples of its previous run.
pub struct SnmpProbe {
    host: String,
    port: u16,
    /// Credentials (with USM master keys derived once, at build time).
    auth: Auth,
    /// `"v2c"` or `"v3"`.
    version: &'static str,
    /// Discovered SNMPv3 engines (id, boots, time), kept between runs.
    engines: Arc<EngineCache>,
    /// The node's target policy, checked on the agent's address before sending.
    policy: Arc<TargetPolicy>,
    /// sysUpTime.0 first, then the GET OIDs, then rate OIDs not already in the list.
    get: Vec<Oid>,
    /// How many of `get` (after sysUpTime) the operator asked for with `oids`; the others are
    /// rate OIDs.
    asked: usize,
    /// Whether `oids` names sysUpTime.0 itself: then it is also a metric named by its OID.
    uptime_asked: bool,
    walk: Vec<Oid>,
    rates: Vec<Oid>,
    thresholds: Vec<SnmpThreshold>,
    /// Previous sample per rate OID.
    samples: Mutex<HashMap<String, CounterSample>>,
}

impl std::fmt::Debug for SnmpProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No credentials: the version and the user-visible configuration only.
        f.debug_struct("SnmpProbe")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("version", &self.version)
            .field("get", &self.get.len())
            .field("walk", &self.walk.len())
            .field("rates", &self.rates.len())
            .field("thresholds", &self.thresholds)
            .finish_non_exhaustive()
    }
}

/// A counter's value at one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CounterSample {
    /// The raw counter value.
    pub value: u64,
    /// Whether it was a Counter64 (wraps at 2^64) or a Counter32 (wraps at 2^32).
    pub wide: bool,
    /// When the node read it.
    pub at: Instant,
    /// The agent's sysUpTime in hundredths of a second, when it was readable.
    pub uptime_ticks: Option<u32>,
}

/// The per-second rate between two samples of one counter, or `None` when there is no
/// meaningful rate: no time passed, the counter changed width, or the agent restarted
/// (sysUpTime went backwards). A lower value than before is one wrap of the counter's width.
pub fn counter_rate(prev: &CounterSample, cur: &CounterSample) -> Option<f64> {
    let secs = cur.at.checked_duration_since(prev.at)?.as_secs_f64();
    if secs <= 0.0 || prev.wide != cur.wide {
        return None;
    }
    if let (Some(before), Some(now)) = (prev.uptime_ticks, cur.uptime_ticks) {
        if now < before {
            return None;
        }
    }
    let delta = if cur.value >= prev.value {
        cur.value - prev.value
    } else if cur.wide {
        // (2^64 - prev) + cur
        cur.value.wrapping_sub(prev.value)
    } else {
        // A Counter32 never exceeds 2^32 - 1, so this cannot underflow for real samples;
        // saturate anyway rather than trust the peer.
        ((1u64 << 32) - prev.value.min(u64::from(u32::MAX))) + cur.value
    };
    Some(delta as f64 / secs)
}

/// The first threshold in `thresholds` breached by the run's metrics, judging the most severe
/// first (down before degraded). Thresholds on a metric the run did not produce are breached
/// too (the value is gone), except rates, which the first run of a check cannot have.
pub fn breached_threshold<'a>(
    thresholds: &'a [SnmpThreshold],
    metrics: &[(String, f64)],
) -> Option<(&'a SnmpThreshold, Option<f64>)> {
    let value = |name: &str| metrics.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
    let mut worst: Option<(&SnmpThreshold, Option<f64>)> = None;
    for t in thresholds {
        let hit = match value(&t.oid) {
            Some(v) if t.breached_by(v) => Some((t, Some(v))),
            Some(_) => None,
            None if t.oid.ends_with("_per_s") => None,
            None => Some((t, None)),
        };
        if let Some(hit) = hit {
            let more_severe = match &worst {
                None => true,
                Some((w, _)) => {
                    w.severity == ThresholdSeverity::Degraded
                        && t.severity == ThresholdSeverity::Down
                }
            };
            if more_severe {
                worst = Some(hit);
            }
        }
    }
    worst
}

/// A value as a metric: numbers, and strings that hold a number.
fn numeric(value: &Value) -> Option<f64> {
    match value {
        Value::OctetString(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite()),
        other => other.as_f64(),
    }
}

/// A value for humans, short.
fn show(value: &Value) -> String {
    let mut text = match value {
        Value::OctetString(bytes) => match std::str::from_utf8(bytes) {
            Ok(s) => format!("{:?}", s.trim_end_matches('\0')),
            Err(_) => format!("{} bytes", bytes.len()),
        },
        other => other.to_string(),
    };
    if text.len() > 200 {
        let mut cut = 200;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

fn parse_oid(field: &'static str, text: &str) -> Result<Oid, ProbeBuildError> {
    let dotted = parse_numeric_oid(text)
        .map_err(|reason| ProbeBuildError::InvalidField { field, reason })?;
    Oid::parse(&dotted).map_err(|e| ProbeBuildError::InvalidField {
        field,
        reason: format!("{dotted}: {e}"),
    })
}

fn auth_protocol(p: SnmpAuthProtocol) -> AuthProtocol {
    match p {
        SnmpAuthProtocol::Md5 => AuthProtocol::Md5,
        SnmpAuthProtocol::Sha => AuthProtocol::Sha1,
        SnmpAuthProtocol::Sha224 => AuthProtocol::Sha224,
        SnmpAuthProtocol::Sha256 => AuthProtocol::Sha256,
        SnmpAuthProtocol::Sha384 => AuthProtocol::Sha384,
        SnmpAuthProtocol::Sha512 => AuthProtocol::Sha512,
    }
}

fn priv_protocol(p: SnmpPrivProtocol) -> PrivProtocol {
    match p {
        SnmpPrivProtocol::Des => PrivProtocol::Des,
        SnmpPrivProtocol::Aes => PrivProtocol::Aes128,
        // net-snmp's AES192/AES256 use the Blumenthal key extension.
        SnmpPrivProtocol::Aes192 => PrivProtocol::Aes192Blumenthal,
        SnmpPrivProtocol::Aes256 => PrivProtocol::Aes256Blumenthal,
    }
}

/// Builds the client credentials. Password-to-key derivation (a megabyte of hashing per
/// password) happens here, once per check revision, not on every run.
fn build_auth(version: &SnmpVersion) -> Result<Auth, ProbeBuildError> {
    match version {
        SnmpVersion::V2c { community } => {
            if community.is_empty() {
                return Err(ProbeBuildError::InvalidField {
                    field: "community",
                    reason: "empty".into(),
                });
            }
            Ok(Auth::v2c(community.as_bytes().to_vec()))
        }
        SnmpVersion::V3 {
            user,
            auth,
            privacy,
        } => {
            if user.is_empty() {
                return Err(ProbeBuildError::InvalidField {
                    field: "user",
                    reason: "empty".into(),
                });
            }
            let config = UsmConfig::new(user.as_bytes().to_vec());
            let config = match (auth, privacy) {
                (None, None) => config,
                (None, Some(_)) => {
                    return Err(ProbeBuildError::InvalidField {
                        field: "priv_protocol",
                        reason: "privacy needs authentication".into(),
                    })
                }
                (Some((ap, apw)), privacy) => {
                    // Never quote the password: say which one is wrong and why, generically.
                    let keys =
                        MasterKeys::new(auth_protocol(*ap), apw.as_bytes()).map_err(|e| {
                            ProbeBuildError::InvalidField {
                                field: "auth_password",
                                reason: e.to_string(),
                            }
                        })?;
                    let keys = match privacy {
                        None => keys,
                        Some((pp, ppw)) => keys
                            .with_privacy(priv_protocol(*pp), ppw.as_bytes())
                            .map_err(|e| ProbeBuildError::InvalidField {
                                field: "priv_password",
                                reason: e.to_string(),
                            })?,
                    };
                    config
                        .with_master_keys(keys)
                        .map_err(|e| ProbeBuildError::InvalidField {
                            field: "auth_protocol",
                            reason: e.to_string(),
                        })?
                }
            };
            Ok(Auth::from(config))
        }
    }
}

impl ProbeKind for SnmpProbe {
    type Spec = SnmpSpec;

    /// Validates the spec, parses every OID and derives the USM keys.
    fn build(spec: &SnmpSpec, ctx: &ProbeContext) -> Result<Self, ProbeBuildError> {
        let host = spec.host.trim();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ProbeBuildError::InvalidHost(spec.host.clone()));
        }
        if spec.port == 0 {
            return Err(ProbeBuildError::InvalidField {
                field: "target",
                reason: "port 0".into(),
            });
        }
        let mut get = vec![parse_oid("oids", SNMP_SYS_UPTIME_OID)?];
        let mut uptime_asked = false;
        for text in &spec.oids {
            let oid = parse_oid("oids", text)?;
            uptime_asked |= oid == get[0];
            if !get.contains(&oid) {
                get.push(oid);
            }
        }
        let asked = get.len() - 1;
        let mut rates = Vec::new();
        for text in &spec.rates {
            let oid = parse_oid("rates", text)?;
            if !get.contains(&oid) {
                get.push(oid.clone());
            }
            if !rates.contains(&oid) {
                rates.push(oid);
            }
        }
        let walk = spec
            .walk
            .iter()
            .map(|t| parse_oid("walk", t))
            .collect::<Result<Vec<_>, _>>()?;
        for t in &spec.thresholds {
            if !t.value.is_finite() {
                return Err(ProbeBuildError::InvalidField {
                    field: "thresholds",
                    reason: format!("{}: value is not a finite number", t.oid),
                });
            }
        }
        Ok(Self {
            host: host.to_owned(),
            port: spec.port,
            auth: build_auth(&spec.version)?,
            version: spec.version.as_str(),
            engines: Arc::new(EngineCache::new()),
            policy: Arc::clone(&ctx.target_policy),
            get,
            asked,
            uptime_asked,
            walk,
            rates,
            thresholds: spec.thresholds.clone(),
            samples: Mutex::new(HashMap::new()),
        })
    }

    /// One run: resolve, GET (with sysUpTime and the rate counters), walk, then judge.
    /// `timeout` is the check's whole budget; requests are retried once within it, and
    /// [`super::Probe::run`] enforces it around the whole run.
    async fn run(&self, timeout: Duration) -> ProbeOutcome {
        let start = Instant::now();
        let addr: SocketAddr = match tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map(|addrs| net::first_permitted(addrs, &self.policy))
        {
            Ok(Some(Ok(addr))) => addr,
            Ok(Some(Err(refusal))) => return net::refused(&refusal, Vec::new()),
            Ok(None) => {
                return ProbeOutcome::down(
                    ErrorClass::Dns,
                    format!("{} resolved to no address", self.host),
                    Vec::new(),
                )
            }
            Err(e) => {
                return ProbeOutcome::down(
                    ErrorClass::Dns,
                    format!("cannot resolve {}: {e}", self.host),
                    Vec::new(),
                )
            }
        };
        // Two attempts per request within ~90% of the budget, so a lost datagram is retried
        // and a silent agent still yields our own, more precise, timeout message.
        let per_request = (timeout * 9 / 20).max(Duration::from_millis(50));
        let retry = Retry::fixed(1, Duration::ZERO).unwrap_or_else(|_| Retry::none());
        let client = match Client::builder(addr, self.auth.clone())
            .request_timeout(per_request)
            .retry(retry)
            .engine_cache(Arc::clone(&self.engines))
            // Agents answer a wrong digest, an unknown user or a decryption error with an
            // unauthenticated Report (they cannot authenticate to a user whose key does not
            // match). Accepting it is what tells "wrong password" from "no answer"; a
            // spoofed Report could at worst fail one run, which a spoofer could also do by
            // dropping packets. Replies must come from the agent's address.
            .allow_unauthenticated_v3_time_correction(true)
            .strict_source(true)
            .connect()
            .await
        {
            Ok(c) => c,
            Err(e) => return self.failure(&e, Vec::new()),
        };

        let mut metrics: Vec<(String, f64)> = Vec::new();
        let mut detail = String::new();
        let response = match client.get_many(&self.get).await {
            Ok(r) => r,
            Err(e) => return self.failure(&e, Vec::new()),
        };
        let response_ms = ms(start.elapsed());
        metrics.push(("response_ms".to_owned(), response_ms));
        let now = Instant::now();

        let mut uptime_ticks = None;
        let mut missing: Vec<String> = Vec::new();
        let mut counters: Vec<(String, Option<CounterSample>, String)> = Vec::new();
        for (i, oid) in self.get.iter().enumerate() {
            let name = oid.to_string();
            let Some(vb) = response.varbinds.iter().find(|vb| vb.oid == *oid) else {
                return ProbeOutcome::down(
                    ErrorClass::Protocol,
                    format!("the agent's response has no value for {name}"),
                    metrics,
                );
            };
            let is_rate = self.rates.contains(oid);
            let asked = i >= 1 && i <= self.asked;
            if i == 0 {
                match vb.value {
                    Value::TimeTicks(t) => {
                        uptime_ticks = Some(t);
                        metrics.push(("sys_uptime_s".to_owned(), f64::from(t) / 100.0));
                        if self.uptime_asked {
                            metrics.push((name, f64::from(t)));
                        }
                    }
                    // A restricted view may hide sysUpTime: not the operator's question,
                    // so no failure, only no restart detection for rates.
                    ref other => {
                        let _ = write!(detail, "sysUpTime: {}; ", show(other));
                    }
                }
                continue;
            }
            if vb.value.is_exception() {
                if asked || is_rate {
                    missing.push(format!("{name} ({})", vb.value.kind()));
                }
                continue;
            }
            if asked {
                if let Some(v) = numeric(&vb.value) {
                    metrics.push((name.clone(), v));
                }
                if detail.len() < MAX_DETAIL {
                    let _ = write!(detail, "{name} = {}; ", show(&vb.value));
                }
            }
            if is_rate {
                let sample = match vb.value {
                    Value::Counter32(v) => Some((u64::from(v), false)),
                    Value::Counter64(v) => Some((v, true)),
                    _ => None,
                }
                .map(|(value, wide)| CounterSample {
                    value,
                    wide,
                    at: now,
                    uptime_ticks: None,
                });
                counters.push((name, sample, vb.value.kind().to_string()));
            }
        }
        if !missing.is_empty() {
            return ProbeOutcome::down(
                ErrorClass::Assertion,
                format!("no such object: {}", missing.join(", ")),
                metrics,
            );
        }

        // Rates: compare with the previous run's samples, then remember these.
        let mut not_counters = Vec::new();
        {
            let mut samples = match self.samples.lock() {
                Ok(s) => s,
                Err(poisoned) => poisoned.into_inner(),
            };
            for (name, sample, kind) in counters {
                let Some(mut sample) = sample else {
                    not_counters.push(format!("{name} is a {kind}"));
                    samples.remove(&name);
                    continue;
                };
                sample.uptime_ticks = uptime_ticks;
                if let Some(prev) = samples.get(&name) {
                    if let Some(rate) = counter_rate(prev, &sample) {
                        metrics.push((format!("{name}_per_s"), rate));
                    }
                }
                samples.insert(name, sample);
            }
        }
        if !not_counters.is_empty() {
            return ProbeOutcome::down(
                ErrorClass::Assertion,
                format!(
                    "rate needs a Counter32 or Counter64: {}",
                    not_counters.join(", ")
                ),
                metrics,
            );
        }

        let mut seen: HashSet<String> = metrics.iter().map(|(n, _)| n.clone()).collect();
        let mut cut: Vec<String> = Vec::new();
        for root in &self.walk {
            let walked = self.walk_one(&client, root, &mut metrics, &mut seen).await;
            let (found, truncated) = match walked {
                Ok(r) => r,
                Err(e) => return self.failure(&e, metrics),
            };
            if found == 0 {
                return ProbeOutcome::down(
                    ErrorClass::Assertion,
                    format!("walk of {root} found no objects"),
                    metrics,
                );
            }
            let _ = write!(
                detail,
                "walk {root}: {found} values{}; ",
                if truncated { " (truncated)" } else { "" }
            );
            if truncated {
                cut.push(format!("walk {root} stopped after {found} values"));
            }
        }

        let detail = detail.trim_end_matches([';', ' ']).to_owned();
        let outcome = match breached_threshold(&self.thresholds, &metrics) {
            None => ProbeOutcome::up(metrics),
            Some((t, observed)) => {
                let message = match observed {
                    Some(v) => format!(
                        "threshold breached: {} = {v} {} {}",
                        t.oid,
                        t.op.as_str(),
                        t.value
                    ),
                    None => format!(
                        "threshold on {} ({} {}) cannot be judged: no numeric value",
                        t.oid,
                        t.op.as_str(),
                        t.value
                    ),
                };
                match t.severity {
                    ThresholdSeverity::Degraded => {
                        ProbeOutcome::degraded(ErrorClass::Assertion, message, metrics)
                    }
                    ThresholdSeverity::Down => {
                        ProbeOutcome::down(ErrorClass::Assertion, message, metrics)
                    }
                }
            }
        };
        let outcome = if cut.is_empty() {
            outcome
        } else {
            outcome.with_fact(limits::TRUNCATED_FACT, cut.join("; "))
        };
        if detail.is_empty() {
            outcome
        } else {
            outcome.with_detail(truncate(detail))
        }
    }
}

impl SnmpProbe {
    /// Walks one subtree, adding its numeric values as metrics; returns how many values it
    /// found and whether it stopped early ([`MAX_WALK_ITEMS`] visited, or a full result).
    async fn walk_one(
        &self,
        client: &Client<async_snmp::UdpHandle>,
        root: &Oid,
        metrics: &mut Vec<(String, f64)>,
        seen: &mut HashSet<String>,
    ) -> Result<(usize, bool), Box<SnmpError>> {
        let mut stream = client.walk(root.clone())?;
        let mut found = 0;
        while let Some(item) = stream.next().await {
            let vb = item?;
            found += 1;
            if let Some(v) = numeric(&vb.value) {
                let name = vb.oid.to_string();
                // Overlapping subtrees (or a GET OID inside one) give each value once.
                if seen.insert(name.clone()) {
                    metrics.push((name, v));
                }
            }
            if found >= MAX_WALK_ITEMS || metrics.len() >= limits::MAX_METRICS {
                return Ok((found, true));
            }
        }
        Ok((found, false))
    }

    /// Maps a client error to an outcome; messages name the agent, never the credentials.
    fn failure(&self, error: &SnmpError, metrics: Vec<(String, f64)>) -> ProbeOutcome {
        let (class, message) = classify(error, self.version);
        ProbeOutcome::down(
            class,
            format!("{}:{}: {message}", self.host, self.port),
            metrics,
        )
    }
}

/// The error class and a secret-free message for an async-snmp error.
fn classify(error: &SnmpError, version: &str) -> (ErrorClass, String) {
    match error.exchange_source() {
        SnmpError::Timeout {
            elapsed, retries, ..
        } => (
            ErrorClass::Timeout,
            if version == "v2c" {
                format!(
                    "no response after {} ms ({} retries): agent down, or wrong community \
                     (v2c agents drop requests with an unknown community)",
                    elapsed.as_millis(),
                    retries
                )
            } else {
                format!(
                    "no response after {} ms ({} retries): agent down, or wrong privacy \
                     password (agents drop requests they cannot decrypt)",
                    elapsed.as_millis(),
                    retries
                )
            },
        ),
        SnmpError::Network { source, .. } => {
            let class = if source.kind() == std::io::ErrorKind::ConnectionRefused {
                ErrorClass::Refused
            } else {
                ErrorClass::Connect
            };
            (class, format!("network error: {source}"))
        }
        SnmpError::Auth { .. } => (
            ErrorClass::Auth,
            "authentication failed (wrong password or protocol)".to_owned(),
        ),
        SnmpError::Report { status, .. } => match status.as_ref() {
            ReportStatus::WrongDigest { .. } => (
                ErrorClass::Auth,
                "authentication failed: wrong digest (wrong authentication password or \
                 protocol)"
                    .to_owned(),
            ),
            ReportStatus::UnknownUserName { .. } => {
                (ErrorClass::Auth, "unknown SNMPv3 user".to_owned())
            }
            ReportStatus::UnsupportedSecurityLevel { .. } => (
                ErrorClass::Auth,
                "security level not supported for this user".to_owned(),
            ),
            ReportStatus::DecryptionError { .. } => (
                ErrorClass::Auth,
                "decryption failed (wrong privacy password or protocol)".to_owned(),
            ),
            other => (ErrorClass::Protocol, format!("SNMPv3 report: {other}")),
        },
        SnmpError::Snmp { status, oid, .. } => {
            let at = oid
                .as_ref()
                .map(|o| format!(" for {o}"))
                .unwrap_or_default();
            let class = match status {
                ErrorStatus::NoAccess | ErrorStatus::AuthorizationError => ErrorClass::Auth,
                ErrorStatus::NoSuchName => ErrorClass::Assertion,
                _ => ErrorClass::Protocol,
            };
            (class, format!("agent answered {status}{at}"))
        }
        SnmpError::Decode(_)
        | SnmpError::MalformedResponse { .. }
        | SnmpError::ResponseShape { .. }
        | SnmpError::WalkAborted { .. } => (
            ErrorClass::Protocol,
            format!("bad answer: {}", error.kind()),
        ),
        other => (
            ErrorClass::Internal,
            format!("SNMP client: {}", other.kind()),
        ),
    }
}

fn truncate(mut text: String) -> String {
    if text.len() > MAX_DETAIL {
        let mut cut = MAX_DETAIL;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use netpulse_protocol::check::ThresholdOp;

    fn sample(value: u64, wide: bool, at: Instant, uptime: Option<u32>) -> CounterSample {
        CounterSample {
            value,
            wide,
            at,
            uptime_ticks: uptime,
        }
    }

    #[test]
    fn rate_plain_and_wrapped() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(10);
        let r = counter_rate(
            &sample(1_000, false, t0, Some(100)),
            &sample(6_000, false, t1, Some(1100)),
        );
        assert_eq!(r, Some(500.0));
        // Counter32 wrap: from 2^32 - 1000 to 4000 is 5000 octets.
        let r = counter_rate(
            &sample(u64::from(u32::MAX) - 999, false, t0, Some(100)),
            &sample(4_000, false, t1, Some(1100)),
        );
        assert_eq!(r, Some(500.0));
        // Counter64 wrap.
        let r = counter_rate(
            &sample(u64::MAX - 1_999, true, t0, None),
            &sample(3_000, true, t1, None),
        );
        assert_eq!(r, Some(500.0));
    }

    #[test]
    fn no_rate_after_restart_or_without_time() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(10);
        // sysUpTime went backwards: the agent restarted, the drop is a reset, not a wrap.
        assert_eq!(
            counter_rate(
                &sample(50_000, false, t0, Some(9_000)),
                &sample(10, false, t1, Some(200))
            ),
            None
        );
        assert_eq!(
            counter_rate(&sample(1, false, t0, None), &sample(2, false, t0, None)),
            None
        );
        assert_eq!(
            counter_rate(&sample(1, false, t1, None), &sample(2, false, t0, None)),
            None
        );
        assert_eq!(
            counter_rate(&sample(1, false, t0, None), &sample(2, true, t1, None)),
            None
        );
    }

    fn th(oid: &str, op: ThresholdOp, value: f64, severity: ThresholdSeverity) -> SnmpThreshold {
        SnmpThreshold {
            oid: oid.into(),
            op,
            value,
            severity,
        }
    }

    #[test]
    fn thresholds_pick_the_most_severe_breach() {
        let metrics = vec![
            ("1.3.6.1.4.1.2021.10.1.3.1".to_owned(), 3.5),
            ("sys_uptime_s".to_owned(), 120.0),
        ];
        let ts = vec![
            th(
                "1.3.6.1.4.1.2021.10.1.3.1",
                ThresholdOp::Gt,
                2.0,
                ThresholdSeverity::Degraded,
            ),
            th(
                "sys_uptime_s",
                ThresholdOp::Lt,
                300.0,
                ThresholdSeverity::Down,
            ),
        ];
        let (t, v) = breached_threshold(&ts, &metrics).expect("breach");
        assert_eq!((t.oid.as_str(), v), ("sys_uptime_s", Some(120.0)));
        let (t, _) = breached_threshold(&ts[..1], &metrics).expect("breach");
        assert_eq!(t.severity, ThresholdSeverity::Degraded);
        let ok = [th(
            "sys_uptime_s",
            ThresholdOp::Ge,
            1e9,
            ThresholdSeverity::Down,
        )];
        assert!(breached_threshold(&ok, &metrics).is_none());
        // A missing value breaches, a missing rate (first run) does not.
        let gone = [th(
            "1.3.6.1.9",
            ThresholdOp::Gt,
            0.0,
            ThresholdSeverity::Down,
        )];
        assert_eq!(
            breached_threshold(&gone, &metrics).map(|(_, v)| v),
            Some(None)
        );
        let rate = [th(
            "1.3.6.1.9_per_s",
            ThresholdOp::Gt,
            0.0,
            ThresholdSeverity::Down,
        )];
        assert!(breached_threshold(&rate, &metrics).is_none());
    }

    #[test]
    fn numeric_values() {
        assert_eq!(numeric(&Value::Integer(-3)), Some(-3.0));
        assert_eq!(numeric(&Value::Counter64(7)), Some(7.0));
        assert_eq!(numeric(&Value::OctetString(" 0.25 ".into())), Some(0.25));
        assert_eq!(numeric(&Value::OctetString("Linux".into())), None);
        assert_eq!(numeric(&Value::OctetString("NaN".into())), None);
        assert_eq!(numeric(&Value::NoSuchObject), None);
    }

    #[test]
    fn build_validates_and_hides_secrets() {
        let ctx = ProbeContext::for_node("r", "n");
        let mut spec = SnmpSpec {
            host: "127.0.0.1".into(),
            port: 161,
            version: SnmpVersion::V3 {
                user: "u".into(),
                auth: Some((SnmpAuthProtocol::Sha, "authsecret-1".into())),
                privacy: Some((SnmpPrivProtocol::Aes, "privsecret-1".into())),
            },
            oids: vec!["1.3.6.1.2.1.1.1.0".into(), ".1.3.6.1.2.1.1.3.0".into()],
            walk: vec!["1.3.6.1.2.1.1".into()],
            thresholds: vec![],
            rates: vec!["1.3.6.1.2.1.2.2.1.10.1".into()],
        };
        let probe = SnmpProbe::build(&spec, &ctx).expect("valid");
        // sysUpTime once, sysDescr, and the rate counter.
        assert_eq!(probe.get.len(), 3);
        assert_eq!(probe.asked, 1);
        let shown = format!("{probe:?}");
        assert!(!shown.contains("secret"), "{shown}");
        spec.version = SnmpVersion::V3 {
            user: "u".into(),
            auth: Some((SnmpAuthProtocol::Sha, "short".into())),
            privacy: None,
        };
        let err = SnmpProbe::build(&spec, &ctx).expect_err("short password");
        assert!(err.to_string().contains("auth_password"), "{err}");
        assert!(!err.to_string().contains("short\""), "{err}");
        spec.version = SnmpVersion::V2c {
            community: "public".into(),
        };
        spec.oids = vec!["sysDescr.0".into()];
        let err = SnmpProbe::build(&spec, &ctx).expect_err("named oid");
        assert!(err.to_string().contains("oids"), "{err}");
    }
}
