//! Validation of monitor bodies (`POST /v1/monitors`, `PUT /v1/monitors/{id}`).
//!
//! Unknown fields are refused, so a typo never silently becomes a default, and so is a field
//! that belongs to another kind (`count` on an `http` monitor). Every refusal names the field.
//!
//! Kinds and their fields (beside `name`, `kind`, `target`, `interval_s`, `timeout_s`,
//! `regions`, `paused`); `docs/probes.md` has the full reference:
//! - `http`: `method`, `headers`, `body`, `expect_status`, `body_contains`, `body_regex`,
//!   `json_path` (+ `json_equals` | `json_contains`), `ca_pem`, `follow_redirects`,
//!   `insecure_skip_verify`;
//! - `tcp`: none (`target` is `host:port`);
//! - `dns`: `record_type`, `nameserver`, `expect`, `expect_rcode` (`target` is the name);
//! - `tls`: `server_name`, `warn_days`, `critical_days`, `ca_pem`, `min_version`;
//! - `icmp`: `count`, `packet_size` (`target` is a host).
//! - `ssh`: `username`, one of `password` / `private_key` (+ `private_key_passphrase`) /
//!   `keyboard_interactive_password`, `host_key_fingerprint`, `command`, `expect_regex`,
//!   `extract`, `legacy_algorithms` (`target` is `host[:port]`, port 22 by default).
//! - `snmp`: `version`, `community`, `user`, `auth_protocol`, `auth_password`,
//!   `priv_protocol`, `priv_password`, `oids`, `walk`, `thresholds`, `rates` (`target` is
//!   `host[:port]`, port 161 by default); see [`snmp`].

use std::collections::BTreeMap;

use netpulse_protocol::check::{
    normalize_dns_name, parse_rcode, DnsRecordType, DnsSpec, Endpoint, HttpSpec, IcmpSpec,
    ProbeSpec, StatusMatch, TcpSpec, TlsSpec, TlsVersion, DNS_RECORD_TYPES, ICMP_DEFAULT_COUNT,
    ICMP_DEFAULT_PACKET_SIZE, ICMP_MAX_COUNT, ICMP_MAX_PACKET_SIZE, ICMP_MIN_COUNT,
    TLS_DEFAULT_CRITICAL_DAYS, TLS_DEFAULT_WARN_DAYS,
};
use netpulse_protocol::check::{SshAuth, SshSpec, SSH_DEFAULT_PORT};
use serde::Deserialize;

use super::error::ApiError;
use netpulse_engine::model::ALL_REGIONS;

mod alerting;
mod snmp;

pub use alerting::tags as validate_tags;

/// A monitor as submitted by an operator.
/// No `Debug`: it holds secrets (passwords, keys, communities) as submitted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorInput {
    name: String,
    kind: String,
    target: String,
    interval_s: Option<u32>,
    timeout_s: Option<u32>,
    regions: Vec<String>,
    #[serde(default)]
    paused: bool,
    method: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    body: Option<String>,
    expect_status: Option<Vec<serde_json::Value>>,
    body_contains: Option<String>,
    follow_redirects: Option<bool>,
    insecure_skip_verify: Option<bool>,
    body_regex: Option<String>,
    json_path: Option<String>,
    json_equals: Option<serde_json::Value>,
    json_contains: Option<String>,
    record_type: Option<String>,
    nameserver: Option<String>,
    expect: Option<Vec<String>>,
    expect_rcode: Option<serde_json::Value>,
    server_name: Option<String>,
    warn_days: Option<u32>,
    critical_days: Option<u32>,
    ca_pem: Option<String>,
    min_version: Option<serde_json::Value>,
    count: Option<u32>,
    packet_size: Option<u32>,
    username: Option<String>,
    password: Option<String>,
    private_key: Option<String>,
    private_key_passphrase: Option<String>,
    keyboard_interactive_password: Option<String>,
    host_key_fingerprint: Option<String>,
    command: Option<String>,
    expect_regex: Option<String>,
    send: Option<String>,
    extract: Option<BTreeMap<String, String>>,
    legacy_algorithms: Option<bool>,
    version: Option<String>,
    community: Option<String>,
    user: Option<String>,
    auth_protocol: Option<String>,
    auth_password: Option<String>,
    priv_protocol: Option<String>,
    priv_password: Option<String>,
    oids: Option<Vec<String>>,
    walk: Option<Vec<String>>,
    thresholds: Option<Vec<snmp::ThresholdInput>>,
    rates: Option<Vec<String>>,
    confirm: Option<u32>,
    recover: Option<u32>,
    quorum: Option<serde_json::Value>,
    alert_channels: Option<Vec<String>>,
    tags: Option<Vec<String>>,
    renotify_s: Option<u32>,
    escalation: Option<Vec<alerting::StepInput>>,
    notify_degraded: Option<bool>,
    tls_expiry_warn_days: Option<u32>,
    flap_threshold: Option<u32>,
    flap_window_s: Option<u32>,
}

/// Kinds a monitor can have, as named in the API.
pub const KINDS: &[&str] = &["http", "tcp", "dns", "tls", "icmp", "ssh", "snmp"];

/// Most expected DNS answers per monitor.
const MAX_EXPECT: usize = 64;

/// Longest expected DNS answer.
const MAX_EXPECT_LEN: usize = 1024;

/// Largest `ca_pem` bundle.
const MAX_CA_PEM: usize = 64 * 1024;

/// Most days a TLS threshold may name (ten years).
const MAX_THRESHOLD_DAYS: u32 = 3650;

/// The validated, kind-independent part of a monitor plus its probe.
#[derive(Debug)]
pub struct ValidMonitor {
    /// Display name.
    pub name: String,
    /// Target as written.
    pub target: String,
    /// Seconds between runs.
    pub interval_s: u32,
    /// Seconds before a run times out.
    pub timeout_s: u32,
    /// Regions.
    pub regions: Vec<String>,
    /// Paused.
    pub paused: bool,
    /// Probe configuration.
    pub probe: ProbeSpec,
    /// Quorum, confirmation and alert routing.
    pub alerting: netpulse_engine::alerting::AlertSettings,
}

impl ValidMonitor {
    /// A new monitor with a fresh id.
    pub fn create(self, now_ms: i64) -> netpulse_engine::model::Monitor {
        self.into_monitor(super::new_id("mon"), 0, now_ms, now_ms)
    }

    /// The replacement of `old`: same id, creation time and (until applied) revision.
    pub fn replace(
        self,
        old: &netpulse_engine::model::Monitor,
        now_ms: i64,
    ) -> netpulse_engine::model::Monitor {
        self.into_monitor(old.id.clone(), old.revision, old.created_at_ms, now_ms)
    }

    fn into_monitor(
        self,
        id: String,
        revision: u64,
        created_at_ms: i64,
        updated_at_ms: i64,
    ) -> netpulse_engine::model::Monitor {
        netpulse_engine::model::Monitor {
            id,
            name: self.name,
            target: self.target,
            interval_s: self.interval_s,
            timeout_s: self.timeout_s,
            regions: self.regions,
            paused: self.paused,
            probe: self.probe,
            alerting: self.alerting,
            revision,
            created_at_ms,
            updated_at_ms,
        }
    }
}

/// Whether `r` is a usable region tag: 1-32 chars of `[a-z0-9-]`.
pub fn valid_region(r: &str) -> bool {
    (1..=32).contains(&r.len())
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

const HTTP_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

impl MonitorInput {
    /// Checks every field and builds the probe configuration.
    pub fn validate(mut self) -> Result<ValidMonitor, ApiError> {
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ApiError::invalid_field(
                "name",
                "must be 1 to 200 characters",
            ));
        }
        let interval_s = self.interval_s.unwrap_or(60);
        if !(1..=86_400).contains(&interval_s) {
            return Err(ApiError::invalid_field(
                "interval_s",
                "must be between 1 and 86400",
            ));
        }
        let timeout_s = self.timeout_s.unwrap_or(interval_s.min(10));
        if !(1..=300).contains(&timeout_s) {
            return Err(ApiError::invalid_field(
                "timeout_s",
                "must be between 1 and 300",
            ));
        }
        if self.regions.is_empty() {
            return Err(ApiError::invalid_field(
                "regions",
                "name at least one region (or \"all\")",
            ));
        }
        let mut regions = Vec::with_capacity(self.regions.len());
        for r in &self.regions {
            if r != ALL_REGIONS && !valid_region(r) {
                return Err(ApiError::invalid_field(
                    "regions",
                    format!("{r:?} is not a region tag ([a-z0-9-], 1-32 chars)"),
                ));
            }
            if !regions.contains(r) {
                regions.push(r.clone());
            }
        }
        if regions.len() > 64 {
            return Err(ApiError::invalid_field("regions", "at most 64 regions"));
        }
        let target = self.target.trim().to_owned();
        if target.is_empty() || target.len() > 2048 {
            return Err(ApiError::invalid_field(
                "target",
                "must be 1 to 2048 characters",
            ));
        }
        if !KINDS.contains(&self.kind.as_str()) {
            let expected = KINDS
                .iter()
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ApiError::invalid_field(
                "kind",
                format!("unknown kind {:?} (expected one of {expected})", self.kind),
            ));
        }
        self.refuse_foreign_fields()?;
        let alerting = alerting::AlertInput {
            confirm: self.confirm,
            recover: self.recover,
            quorum: self.quorum.take(),
            alert_channels: self.alert_channels.take(),
            tags: self.tags.take(),
            renotify_s: self.renotify_s,
            escalation: self.escalation.take(),
            notify_degraded: self.notify_degraded,
            tls_expiry_warn_days: self.tls_expiry_warn_days,
            flap_threshold: self.flap_threshold,
            flap_window_s: self.flap_window_s,
        }
        .validate()?;
        let probe = match self.kind.as_str() {
            "http" => ProbeSpec::Http(self.http(&target)?),
            "tcp" => ProbeSpec::Tcp(self.tcp(&target)?),
            "dns" => ProbeSpec::Dns(self.dns(&target)?),
            "tls" => ProbeSpec::Tls(self.tls(&target)?),
            "ssh" => ProbeSpec::Ssh(self.ssh(&target)?),
            "snmp" => ProbeSpec::Snmp(self.snmp(&target)?),
            _ => ProbeSpec::Icmp(self.icmp(&target)?),
        };
        Ok(ValidMonitor {
            name,
            target,
            interval_s,
            timeout_s,
            regions,
            paused: self.paused,
            probe,
            alerting,
        })
    }

    /// Refuses the first kind-specific field that was given but belongs to another kind.
    fn refuse_foreign_fields(&self) -> Result<(), ApiError> {
        let fields: &[(&str, bool, &str)] = &[
            ("method", self.method.is_some(), "http"),
            ("headers", self.headers.is_some(), "http"),
            ("body", self.body.is_some(), "http"),
            ("expect_status", self.expect_status.is_some(), "http"),
            ("body_contains", self.body_contains.is_some(), "http"),
            ("body_regex", self.body_regex.is_some(), "http"),
            ("json_path", self.json_path.is_some(), "http"),
            ("json_equals", self.json_equals.is_some(), "http"),
            ("json_contains", self.json_contains.is_some(), "http"),
            ("follow_redirects", self.follow_redirects.is_some(), "http"),
            (
                "insecure_skip_verify",
                self.insecure_skip_verify.is_some(),
                "http",
            ),
            ("record_type", self.record_type.is_some(), "dns"),
            ("nameserver", self.nameserver.is_some(), "dns"),
            ("expect", self.expect.is_some(), "dns"),
            ("expect_rcode", self.expect_rcode.is_some(), "dns"),
            ("server_name", self.server_name.is_some(), "tls"),
            ("warn_days", self.warn_days.is_some(), "tls"),
            ("critical_days", self.critical_days.is_some(), "tls"),
            ("ca_pem", self.ca_pem.is_some(), "tls|http"),
            ("min_version", self.min_version.is_some(), "tls"),
            ("count", self.count.is_some(), "icmp"),
            ("packet_size", self.packet_size.is_some(), "icmp"),
            ("username", self.username.is_some(), "ssh"),
            ("password", self.password.is_some(), "ssh"),
            ("private_key", self.private_key.is_some(), "ssh"),
            (
                "private_key_passphrase",
                self.private_key_passphrase.is_some(),
                "ssh",
            ),
            (
                "keyboard_interactive_password",
                self.keyboard_interactive_password.is_some(),
                "ssh",
            ),
            (
                "host_key_fingerprint",
                self.host_key_fingerprint.is_some(),
                "ssh",
            ),
            ("command", self.command.is_some(), "ssh"),
            ("expect_regex", self.expect_regex.is_some(), "ssh|tcp"),
            ("send", self.send.is_some(), "tcp"),
            ("extract", self.extract.is_some(), "ssh"),
            ("legacy_algorithms", self.legacy_algorithms.is_some(), "ssh"),
            ("version", self.version.is_some(), "snmp"),
            ("community", self.community.is_some(), "snmp"),
            ("user", self.user.is_some(), "snmp"),
            ("auth_protocol", self.auth_protocol.is_some(), "snmp"),
            ("auth_password", self.auth_password.is_some(), "snmp"),
            ("priv_protocol", self.priv_protocol.is_some(), "snmp"),
            ("priv_password", self.priv_password.is_some(), "snmp"),
            ("oids", self.oids.is_some(), "snmp"),
            ("walk", self.walk.is_some(), "snmp"),
            ("thresholds", self.thresholds.is_some(), "snmp"),
            ("rates", self.rates.is_some(), "snmp"),
        ];
        match fields
            .iter()
            .find(|(_, present, kinds)| *present && !kinds.split('|').any(|k| k == self.kind))
        {
            Some((field, _, kind)) => Err(ApiError::invalid_field(
                field,
                format!("not valid for kind {:?} (only for {kind:?})", self.kind),
            )),
            None => Ok(()),
        }
    }

    fn dns(&self, target: &str) -> Result<DnsSpec, ApiError> {
        check_query_name(target)?;
        let record_type = match self.record_type.as_deref() {
            None => DnsRecordType::A,
            Some(t) => DnsRecordType::parse(t).ok_or_else(|| {
                let types = DNS_RECORD_TYPES
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                ApiError::invalid_field("record_type", format!("{t:?} is not one of {types}"))
            })?,
        };
        let nameserver = self
            .nameserver
            .as_deref()
            .map(parse_nameserver)
            .transpose()?;
        let expect = self.expect.clone().unwrap_or_default();
        if expect.len() > MAX_EXPECT {
            return Err(ApiError::invalid_field(
                "expect",
                format!("at most {MAX_EXPECT} answers"),
            ));
        }
        let mut trimmed = Vec::with_capacity(expect.len());
        for (i, answer) in expect.iter().enumerate() {
            if answer.len() > MAX_EXPECT_LEN {
                return Err(ApiError::invalid_field(
                    "expect",
                    format!("answer #{i} is longer than {MAX_EXPECT_LEN} bytes"),
                ));
            }
            record_type
                .normalize_answer(answer)
                .map_err(|why| ApiError::invalid_field("expect", format!("answer #{i}: {why}")))?;
            trimmed.push(answer.trim().to_owned());
        }
        let expect_rcode = match &self.expect_rcode {
            None => 0,
            Some(v) => {
                let parsed = match v {
                    serde_json::Value::String(s) => parse_rcode(s),
                    serde_json::Value::Number(n) => {
                        n.as_u64().and_then(|n| parse_rcode(&n.to_string()))
                    }
                    _ => None,
                };
                parsed.ok_or_else(|| {
                    ApiError::invalid_field("expect_rcode", format!("{v} is not a response code (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ... or 0-4095)"))
                })?
            }
        };
        Ok(DnsSpec {
            name: target.to_owned(),
            record_type,
            nameserver,
            expect: trimmed,
            expect_rcode,
        })
    }

    fn tls(&self, target: &str) -> Result<TlsSpec, ApiError> {
        let TcpSpec { host, port, .. } = parse_host_port(target)?;
        let server_name = match self.server_name.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => {
                if name.parse::<std::net::IpAddr>().is_err() {
                    normalize_dns_name(name)
                        .map_err(|why| ApiError::invalid_field("server_name", why))?;
                }
                Some(name.to_owned())
            }
        };
        let warn_days = self.warn_days.unwrap_or(TLS_DEFAULT_WARN_DAYS);
        if warn_days > MAX_THRESHOLD_DAYS {
            return Err(ApiError::invalid_field(
                "warn_days",
                format!("must be 0 to {MAX_THRESHOLD_DAYS}"),
            ));
        }
        let critical_days = self
            .critical_days
            .unwrap_or(TLS_DEFAULT_CRITICAL_DAYS.min(warn_days));
        if critical_days > warn_days {
            return Err(ApiError::invalid_field(
                "critical_days",
                format!("must not exceed warn_days ({warn_days})"),
            ));
        }
        let ca_pem = match self.ca_pem.as_deref() {
            None => None,
            Some(pem) => Some(check_ca_pem(pem)?),
        };
        let min_version = match &self.min_version {
            None => TlsVersion::Tls12,
            Some(v) => {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    _ => String::new(),
                };
                TlsVersion::parse(&text).ok_or_else(|| {
                    ApiError::invalid_field("min_version", format!("{v} is not \"1.2\" or \"1.3\""))
                })?
            }
        };
        Ok(TlsSpec {
            host,
            port,
            server_name,
            warn_days,
            critical_days,
            ca_pem,
            min_version,
        })
    }

    fn icmp(&self, target: &str) -> Result<IcmpSpec, ApiError> {
        let host = target
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(target);
        let valid = host.parse::<std::net::IpAddr>().is_ok()
            || !host.contains(':') && normalize_dns_name(host).is_ok();
        if !valid {
            return Err(ApiError::invalid_field(
                "target",
                "must be a host name or an IPv4/IPv6 address",
            ));
        }
        let count = self.count.unwrap_or(u32::from(ICMP_DEFAULT_COUNT));
        let count = u8::try_from(count)
            .ok()
            .filter(|c| (ICMP_MIN_COUNT..=ICMP_MAX_COUNT).contains(c))
            .ok_or_else(|| {
                ApiError::invalid_field(
                    "count",
                    format!("must be {ICMP_MIN_COUNT} to {ICMP_MAX_COUNT}"),
                )
            })?;
        let packet_size = self
            .packet_size
            .unwrap_or(u32::from(ICMP_DEFAULT_PACKET_SIZE));
        let packet_size = u16::try_from(packet_size)
            .ok()
            .filter(|s| *s <= ICMP_MAX_PACKET_SIZE)
            .ok_or_else(|| {
                ApiError::invalid_field(
                    "packet_size",
                    format!("must be 0 to {ICMP_MAX_PACKET_SIZE} bytes"),
                )
            })?;
        Ok(IcmpSpec {
            host: host.to_owned(),
            count,
            packet_size,
        })
    }

    fn http(&self, target: &str) -> Result<HttpSpec, ApiError> {
        let lower = target.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("http://")
            .or_else(|| lower.strip_prefix("https://"))
            .ok_or_else(|| {
                ApiError::invalid_field("target", "must be an http:// or https:// URL")
            })?;
        if rest.is_empty() || rest.starts_with('/') || target.chars().any(char::is_whitespace) {
            return Err(ApiError::invalid_field("target", "URL has no host"));
        }
        let method = self.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
        if !HTTP_METHODS.contains(&method.as_str()) {
            return Err(ApiError::invalid_field(
                "method",
                format!("must be one of {}", HTTP_METHODS.join(", ")),
            ));
        }
        let mut headers = Vec::new();
        for (k, v) in self.headers.iter().flatten() {
            let token = !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !token || v.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                return Err(ApiError::invalid_field(
                    "headers",
                    format!("invalid header {k:?}"),
                ));
            }
            headers.push((k.clone(), v.clone()));
        }
        let mut expect_status = Vec::new();
        for v in self.expect_status.iter().flatten() {
            let parsed = match v {
                serde_json::Value::Number(n) => {
                    n.as_u64().and_then(|n| StatusMatch::parse(&n.to_string()))
                }
                serde_json::Value::String(s) => StatusMatch::parse(s),
                _ => None,
            };
            expect_status.push(parsed.ok_or_else(|| {
                ApiError::invalid_field(
                    "expect_status",
                    format!("{v} is not a status code (100-599) or class like \"2xx\""),
                )
            })?);
        }
        if self.body.as_ref().is_some_and(|b| b.len() > 64 * 1024) {
            return Err(ApiError::invalid_field("body", "at most 64 KiB"));
        }
        let body_regex = match self.body_regex.as_deref().filter(|r| !r.is_empty()) {
            Some(r) if r.len() > 4096 => {
                return Err(ApiError::invalid_field(
                    "body_regex",
                    "at most 4096 characters",
                ))
            }
            Some(r) => match regex::RegexBuilder::new(r).size_limit(1 << 20).build() {
                Ok(_) => Some(r.to_owned()),
                Err(e) => return Err(ApiError::invalid_field("body_regex", e)),
            },
            None => None,
        };
        if let Some(p) = &self.json_path {
            netpulse_protocol::json_path::JsonPath::parse(p)
                .map_err(|e| ApiError::invalid_field("json_path", e))?;
        } else if self.json_equals.is_some() || self.json_contains.is_some() {
            let field = if self.json_equals.is_some() {
                "json_equals"
            } else {
                "json_contains"
            };
            return Err(ApiError::invalid_field(field, "needs json_path"));
        }
        if self.json_equals.is_some() && self.json_contains.is_some() {
            return Err(ApiError::invalid_field(
                "json_contains",
                "give json_equals or json_contains, not both",
            ));
        }
        let ca_pem = match self.ca_pem.as_deref() {
            Some(pem) => Some(check_ca_pem(pem)?),
            None => None,
        };
        Ok(HttpSpec {
            url: target.to_owned(),
            method,
            headers,
            body: self.body.clone(),
            expect_status,
            body_contains: self.body_contains.clone().filter(|s| !s.is_empty()),
            follow_redirects: self.follow_redirects.unwrap_or(true),
            insecure_skip_verify: self.insecure_skip_verify.unwrap_or(false),
            body_regex,
            json_path: self.json_path.clone(),
            // Kept as JSON text: a JSON string compares as that string, anything else as JSON.
            json_equals: self.json_equals.as_ref().map(|v| v.to_string()),
            json_contains: self.json_contains.clone(),
            ca_pem,
        })
    }
}

/// A name to query: a DNS name (trailing dot optional, `.` for the root), or an
/// internationalized one that the edge node converts to its `xn--` form.
fn check_query_name(name: &str) -> Result<(), ApiError> {
    if name.is_ascii() {
        return normalize_dns_name(name)
            .map(|_| ())
            .map_err(|why| ApiError::invalid_field("target", why));
    }
    if name.chars().count() > 253 || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ApiError::invalid_field("target", "not a DNS name"));
    }
    Ok(())
}

/// Parses a nameserver: `host:port`, `[v6]:port`, or a bare IP address or host name (port 53).
fn parse_nameserver(text: &str) -> Result<Endpoint, ApiError> {
    let text = text.trim();
    let bad = || {
        ApiError::invalid_field(
            "nameserver",
            "must be host:port, [IPv6]:port, or an address (port 53)",
        )
    };
    if let Ok(ip) = text.parse::<std::net::IpAddr>() {
        return Ok(Endpoint {
            host: ip.to_string(),
            port: 53,
        });
    }
    if let Some(v6) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        let ip: std::net::Ipv6Addr = v6.parse().map_err(|_| bad())?;
        return Ok(Endpoint {
            host: ip.to_string(),
            port: 53,
        });
    }
    let (host, port) = if text.contains(':') {
        let TcpSpec { host, port, .. } = parse_host_port(text).map_err(|_| bad())?;
        (host, port)
    } else {
        (text.to_owned(), 53)
    };
    if host.parse::<std::net::IpAddr>().is_err() && normalize_dns_name(&host).is_err() {
        return Err(bad());
    }
    Ok(Endpoint { host, port })
}

/// Checks that `pem` holds at least one certificate usable as a trust anchor; returns it
/// trimmed.
fn check_ca_pem(pem: &str) -> Result<String, ApiError> {
    use rustls::pki_types::pem::PemObject;
    if pem.len() > MAX_CA_PEM {
        return Err(ApiError::invalid_field(
            "ca_pem",
            format!("at most {} KiB", MAX_CA_PEM / 1024),
        ));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert =
            cert.map_err(|e| ApiError::invalid_field("ca_pem", format!("unreadable PEM: {e}")))?;
        roots.add(cert).map_err(|e| {
            ApiError::invalid_field("ca_pem", format!("not a usable CA certificate: {e}"))
        })?;
    }
    if roots.is_empty() {
        return Err(ApiError::invalid_field(
            "ca_pem",
            "no \"-----BEGIN CERTIFICATE-----\" block",
        ));
    }
    Ok(pem.trim().to_owned())
}

/// Parses `host:port` or `[v6]:port`.
pub fn parse_host_port(target: &str) -> Result<TcpSpec, ApiError> {
    let bad = || ApiError::invalid_field("target", "must be host:port (IPv6 as [addr]:port)");
    let (host, port) = if let Some(rest) = target.strip_prefix('[') {
        let (h, p) = rest.split_once("]:").ok_or_else(bad)?;
        h.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        (h, p)
    } else {
        target.rsplit_once(':').ok_or_else(bad)?
    };
    if host.is_empty() || host.contains(':') && !target.starts_with('[') {
        return Err(bad());
    }
    let port: u16 = port.parse().ok().filter(|p| *p > 0).ok_or_else(bad)?;
    Ok(TcpSpec {
        host: host.to_owned(),
        port,
        ..Default::default()
    })
}

impl MonitorInput {
    fn tcp(&self, target: &str) -> Result<TcpSpec, ApiError> {
        let mut spec = parse_host_port(target)?;
        if let Some(send) = &self.send {
            if send.is_empty() || send.len() > 4096 {
                return Err(ApiError::invalid_field("send", "1 to 4096 bytes"));
            }
        }
        if let Some(re) = self.expect_regex.as_deref() {
            check_regex("expect_regex", re, None)?;
        }
        spec.send = self.send.clone();
        spec.expect_regex = self.expect_regex.clone().filter(|r| !r.is_empty());
        Ok(spec)
    }
}

/// Most `extract` entries per SSH monitor.
const MAX_SSH_EXTRACT: usize = 32;

/// Longest regular expression (`expect_regex`, `extract`) accepted.
const MAX_REGEX_LEN: usize = 1024;

/// Largest `private_key`.
const MAX_PRIVATE_KEY: usize = 16 * 1024;

/// Metric names the SSH probe sets itself; `extract` may not reuse them.
const SSH_BUILTIN_METRICS: [&str; 5] =
    ["dns_ms", "connect_ms", "auth_ms", "total_ms", "exit_status"];

impl MonitorInput {
    fn ssh(&self, target: &str) -> Result<SshSpec, ApiError> {
        let (host, port) = parse_ssh_target(target)?;
        let username = self
            .username
            .as_deref()
            .ok_or_else(|| ApiError::invalid_field("username", "is required for kind \"ssh\""))?;
        if username.is_empty() || username.len() > 256 || username.chars().any(|c| c.is_control()) {
            return Err(ApiError::invalid_field(
                "username",
                "must be 1 to 256 characters without control characters",
            ));
        }
        let mut given = [
            ("password", self.password.is_some()),
            ("private_key", self.private_key.is_some()),
            (
                "keyboard_interactive_password",
                self.keyboard_interactive_password.is_some(),
            ),
        ]
        .into_iter()
        .filter(|(_, present)| *present)
        .map(|(field, _)| field);
        let Some(_) = given.next() else {
            return Err(ApiError::invalid_field(
                "password",
                "one of password, private_key or keyboard_interactive_password is required",
            ));
        };
        if let Some(second) = given.next() {
            return Err(ApiError::invalid_field(
                second,
                "give only one of password, private_key and keyboard_interactive_password",
            ));
        }
        if self.private_key_passphrase.is_some() && self.private_key.is_none() {
            return Err(ApiError::invalid_field(
                "private_key_passphrase",
                "only valid together with private_key",
            ));
        }
        let auth = if let Some(key) = &self.private_key {
            let key = key.trim();
            if key.len() > MAX_PRIVATE_KEY
                || !(key.starts_with("-----BEGIN ") && key.contains(" PRIVATE KEY-----")
                    || key.starts_with("PuTTY-User-Key-File-"))
            {
                // Never quote the value: it is a secret.
                return Err(ApiError::invalid_field(
                    "private_key",
                    format!(
                        "must be a private key in OpenSSH or PEM format (\"-----BEGIN ... PRIVATE KEY-----\"), at most {MAX_PRIVATE_KEY} bytes"
                    ),
                ));
            }
            SshAuth::PrivateKey {
                pem: format!("{key}\n"),
                passphrase: self.private_key_passphrase.clone(),
            }
        } else if let Some(p) = &self.password {
            SshAuth::Password(p.clone())
        } else {
            SshAuth::KeyboardInteractive(
                self.keyboard_interactive_password
                    .clone()
                    .unwrap_or_default(),
            )
        };
        let host_key_fingerprint = match &self.host_key_fingerprint {
            None => None,
            Some(f) => Some(normalize_ssh_fingerprint(f).ok_or_else(|| {
                ApiError::invalid_field(
                    "host_key_fingerprint",
                    "must be a SHA-256 fingerprint as OpenSSH prints it (\"SHA256:\" and 43 base64 characters)",
                )
            })?),
        };
        let command = match &self.command {
            None => None,
            Some(c) if c.trim().is_empty() || c.len() > 4096 || c.contains('\0') => {
                return Err(ApiError::invalid_field(
                    "command",
                    "must be 1 to 4096 characters without NUL",
                ))
            }
            Some(c) => Some(c.clone()),
        };
        if let Some(re) = &self.expect_regex {
            check_regex("expect_regex", re, None)?;
            if command.is_none() {
                return Err(ApiError::invalid_field(
                    "expect_regex",
                    "needs a command whose output it is matched against",
                ));
            }
        }
        let mut extract = Vec::new();
        if let Some(map) = &self.extract {
            if command.is_none() && !map.is_empty() {
                return Err(ApiError::invalid_field(
                    "extract",
                    "needs a command whose output numbers are extracted from",
                ));
            }
            if map.len() > MAX_SSH_EXTRACT {
                return Err(ApiError::invalid_field(
                    "extract",
                    format!("at most {MAX_SSH_EXTRACT} entries"),
                ));
            }
            for (name, re) in map {
                let valid_name = (1..=64).contains(&name.len())
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if !valid_name {
                    return Err(ApiError::invalid_field(
                        "extract",
                        format!("{name:?} is not a metric name ([a-z0-9_], 1-64 characters)"),
                    ));
                }
                if SSH_BUILTIN_METRICS.contains(&name.as_str()) {
                    return Err(ApiError::invalid_field(
                        "extract",
                        format!("{name:?} is a metric the SSH probe sets itself"),
                    ));
                }
                check_regex("extract", re, Some(name))?;
                extract.push((name.clone(), re.clone()));
            }
        }
        Ok(SshSpec {
            host,
            port,
            username: username.to_owned(),
            auth,
            host_key_fingerprint,
            command,
            expect_regex: self.expect_regex.clone(),
            extract,
            legacy_algorithms: self.legacy_algorithms.unwrap_or(false),
        })
    }
}

/// Compiles `re` (bounded in size); with `name`, it must have exactly one capture group.
fn check_regex(field: &'static str, re: &str, name: Option<&str>) -> Result<(), ApiError> {
    let what = name.map_or_else(String::new, |n| format!("{n:?}: "));
    if re.len() > MAX_REGEX_LEN {
        return Err(ApiError::invalid_field(
            field,
            format!("{what}at most {MAX_REGEX_LEN} characters"),
        ));
    }
    let compiled = regex::RegexBuilder::new(re)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| ApiError::invalid_field(field, format!("{what}invalid regex: {e}")))?;
    if name.is_some() && compiled.captures_len() != 2 {
        return Err(ApiError::invalid_field(
            field,
            format!("{what}needs exactly one capture group (the number)"),
        ));
    }
    Ok(())
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; the port defaults to 22.
fn parse_ssh_target(target: &str) -> Result<(String, u16), ApiError> {
    let bad = || {
        ApiError::invalid_field(
            "target",
            "must be host or host:port (IPv6 as [addr] or [addr]:port)",
        )
    };
    let spec = if let Some(v6) = target.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        v6.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        TcpSpec {
            host: v6.to_owned(),
            port: SSH_DEFAULT_PORT,
            ..Default::default()
        }
    } else if target.contains(':') {
        parse_host_port(target)?
    } else {
        TcpSpec {
            host: target.to_owned(),
            port: SSH_DEFAULT_PORT,
            ..Default::default()
        }
    };
    let valid =
        spec.host.parse::<std::net::IpAddr>().is_ok() || normalize_dns_name(&spec.host).is_ok();
    if !valid {
        return Err(bad());
    }
    Ok((spec.host, spec.port))
}

/// `SHA256:<43 base64 characters>` (OpenSSH's form; the `SHA256:` prefix may be in any case,
/// `=` padding is dropped). `None` if it is not one.
fn normalize_ssh_fingerprint(f: &str) -> Option<String> {
    let f = f.trim();
    let (prefix, b64) = f.split_once(':')?;
    if !prefix.eq_ignore_ascii_case("sha256") {
        return None;
    }
    let b64 = b64.trim_end_matches('=');
    let valid = b64.len() == 43
        && b64
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    valid.then(|| format!("SHA256:{b64}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(v: serde_json::Value) -> Result<ValidMonitor, String> {
        let i: MonitorInput = serde_json::from_value(v).map_err(|e| e.to_string())?;
        i.validate().map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn accepts_and_defaults() {
        let m = input(serde_json::json!({"name": "web", "kind": "http", "target": "http://127.0.0.1:8080/", "regions": ["eu-west"]}))
            .expect("valid");
        assert_eq!((m.interval_s, m.timeout_s), (60, 10));
        let ProbeSpec::Http(h) = m.probe else {
            panic!("http")
        };
        assert_eq!(h.method, "GET");
        assert!(h.follow_redirects);
        let t = input(serde_json::json!({"name": "db", "kind": "tcp", "target": "[::1]:5432", "regions": ["all"]})).expect("valid");
        assert_eq!(
            t.probe,
            ProbeSpec::Tcp(TcpSpec {
                host: "::1".into(),
                port: 5432,
                ..Default::default()
            })
        );
    }

    /// A CA certificate (self-signed, P-256) for `ca_pem`.
    const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBojCCAUmgAwIBAgIUW+N9ocuafSE0TBdBU/8TJdSzYK8wCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTTmV0UHVsc2UgRXhhbXBsZSBDQTAgFw0yNjExMjMwMDE0NDNa
GA8yMTI2MTAzMDAwMTQ0M1owHjEcMBoGA1UEAwwTTmV0UHVsc2UgRXhhbXBsZSBD
QTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABEuKf8V7OJJtK3Y/lT3pvI61/HpJ
so+dplQZzVDsQqpwDb22bydBR7yCIWMRZM1yg/BWCelf1NSHj0lr7FYSscSjYzBh
MB0GA1UdDgQWBBQM3ZW5I+UjQ9twdDdYXRqOFsrg8zAfBgNVHSMEGDAWgBQM3ZW5
I+UjQ9twdDdYXRqOFsrg8zAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIB
BjAKBggqhkjOPQQDAgNHADBEAiAH8eaWqzQs1euTkhIm+zNWnWf13KjV8aYsV7nd
0Wn8tgIgEMVM+Nw5EuY35WWZDw5UJEQlPN05IENrlx9blMHDZV8=
-----END CERTIFICATE-----
";

    #[test]
    fn dns_fields_and_defaults() {
        let m = input(serde_json::json!({"name": "d", "kind": "dns", "target": "www.example.org", "regions": ["a"]})).expect("valid");
        assert_eq!(
            m.probe,
            ProbeSpec::Dns(DnsSpec {
                name: "www.example.org".into(),
                record_type: DnsRecordType::A,
                nameserver: None,
                expect: vec![],
                expect_rcode: 0
            })
        );
        let m = input(serde_json::json!({
            "name": "d", "kind": "dns", "target": "example.org.", "regions": ["a"], "record_type": "mx",
            "nameserver": "[::1]:5353", "expect": [" 10 Mail.example.org. "], "expect_rcode": "nxdomain"
        }))
        .expect("valid");
        let ProbeSpec::Dns(d) = m.probe else {
            panic!("dns")
        };
        assert_eq!(d.record_type, DnsRecordType::Mx);
        assert_eq!(
            d.nameserver,
            Some(Endpoint {
                host: "::1".into(),
                port: 5353
            })
        );
        assert_eq!(d.expect, vec!["10 Mail.example.org.".to_owned()]);
        assert_eq!(d.expect_rcode, 3);
        for (ns, host, port) in [
            ("127.0.0.53", "127.0.0.53", 53),
            ("::1", "::1", 53),
            ("ns1.example.org", "ns1.example.org", 53),
            ("ns1.example.org:5300", "ns1.example.org", 5300),
        ] {
            let m = input(serde_json::json!({"name": "d", "kind": "dns", "target": "x.example", "regions": ["a"], "nameserver": ns, "expect_rcode": 0}))
                .expect("valid");
            let ProbeSpec::Dns(d) = m.probe else {
                panic!("dns")
            };
            assert_eq!(
                d.nameserver,
                Some(Endpoint {
                    host: host.into(),
                    port
                }),
                "{ns}"
            );
        }
    }

    #[test]
    fn tls_fields_and_defaults() {
        let m = input(serde_json::json!({"name": "t", "kind": "tls", "target": "example.org:443", "regions": ["a"]})).expect("valid");
        assert_eq!(
            m.probe,
            ProbeSpec::Tls(TlsSpec {
                host: "example.org".into(),
                port: 443,
                server_name: None,
                warn_days: 14,
                critical_days: 3,
                ca_pem: None,
                min_version: TlsVersion::Tls12
            })
        );
        let m = input(serde_json::json!({
            "name": "t", "kind": "tls", "target": "[::1]:8443", "regions": ["a"], "server_name": "api.example.org",
            "warn_days": 30, "critical_days": 7, "ca_pem": CA_PEM, "min_version": "1.3"
        }))
        .expect("valid");
        let ProbeSpec::Tls(t) = m.probe else {
            panic!("tls")
        };
        assert_eq!(
            (t.host.as_str(), t.port, t.server_name.as_deref()),
            ("::1", 8443, Some("api.example.org"))
        );
        assert_eq!(
            (t.warn_days, t.critical_days, t.min_version),
            (30, 7, TlsVersion::Tls13)
        );
        assert_eq!(t.ca_pem.as_deref(), Some(CA_PEM.trim()));
        // A low warning threshold lowers the default critical one with it; 1.2 may be a number.
        let m = input(serde_json::json!({"name": "t", "kind": "tls", "target": "h:1", "regions": ["a"], "warn_days": 1, "min_version": 1.2}))
            .expect("valid");
        let ProbeSpec::Tls(t) = m.probe else {
            panic!("tls")
        };
        assert_eq!(
            (t.warn_days, t.critical_days, t.min_version),
            (1, 1, TlsVersion::Tls12)
        );
    }

    #[test]
    fn icmp_fields_and_defaults() {
        let m = input(
            serde_json::json!({"name": "p", "kind": "icmp", "target": "[::1]", "regions": ["a"]}),
        )
        .expect("valid");
        assert_eq!(
            m.probe,
            ProbeSpec::Icmp(IcmpSpec {
                host: "::1".into(),
                count: 3,
                packet_size: 56
            })
        );
        let m = input(serde_json::json!({"name": "p", "kind": "icmp", "target": "gw.example.org", "regions": ["a"], "count": 20, "packet_size": 0}))
            .expect("valid");
        assert_eq!(
            m.probe,
            ProbeSpec::Icmp(IcmpSpec {
                host: "gw.example.org".into(),
                count: 20,
                packet_size: 0
            })
        );
    }

    #[test]
    fn kind_specific_refusals_name_the_field() {
        let base = |kind: &str, target: &str| serde_json::json!({"name": "n", "kind": kind, "target": target, "regions": ["a"]});
        let with = |kind: &str, target: &str, field: &str, value: serde_json::Value| {
            let mut b = base(kind, target);
            b[field] = value;
            b
        };
        let cases = [
            (
                with("dns", "x.example", "record_type", "PTR".into()),
                "record_type",
            ),
            (
                with(
                    "dns",
                    "x.example",
                    "expect",
                    serde_json::json!(["not-an-ip"]),
                ),
                "expect",
            ),
            (
                with("dns", "x.example", "expect", serde_json::json!(["10"])),
                "expect",
            ),
            (
                with("dns", "x.example", "expect_rcode", "BOGUS".into()),
                "expect_rcode",
            ),
            (
                with("dns", "x.example", "expect_rcode", 5000.into()),
                "expect_rcode",
            ),
            (
                with("dns", "x.example", "nameserver", "a b".into()),
                "nameserver",
            ),
            (
                with("dns", "x.example", "nameserver", "host:0".into()),
                "nameserver",
            ),
            (base("dns", "a..b"), "target"),
            (base("dns", "x y.example"), "target"),
            (base("tls", "example.org"), "target"),
            (with("tls", "h:443", "warn_days", 5000.into()), "warn_days"),
            (
                with("tls", "h:443", "critical_days", 20.into()),
                "critical_days",
            ),
            (with("tls", "h:443", "ca_pem", "junk".into()), "ca_pem"),
            (
                with(
                    "tls",
                    "h:443",
                    "ca_pem",
                    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
                ),
                "ca_pem",
            ),
            (
                with("tls", "h:443", "min_version", "1.1".into()),
                "min_version",
            ),
            (
                with("tls", "h:443", "min_version", true.into()),
                "min_version",
            ),
            (
                with("tls", "h:443", "server_name", "bad name".into()),
                "server_name",
            ),
            (with("icmp", "h", "count", 0.into()), "count"),
            (with("icmp", "h", "count", 21.into()), "count"),
            (with("icmp", "h", "count", 300.into()), "count"),
            (with("icmp", "h", "packet_size", 1473.into()), "packet_size"),
            (base("icmp", "h:80"), "target"),
            // Fields of another kind.
            (with("http", "http://x", "count", 3.into()), "count"),
            (with("icmp", "h", "ca_pem", CA_PEM.into()), "ca_pem"),
            (with("dns", "x.example", "method", "GET".into()), "method"),
            (
                with("tcp", "h:1", "expect", serde_json::json!([])),
                "expect",
            ),
            (with("tls", "h:1", "record_type", "A".into()), "record_type"),
        ];
        for (body, field) in cases {
            let err = input(body.clone()).expect_err("must be refused");
            assert!(err.contains(&format!("`{field}`")), "{body}: {err}");
        }
        // Out-of-type values are refused while parsing (the API's JSON extractor adds the
        // field's path to the message).
        assert!(input(with("icmp", "h", "count", (-1).into())).is_err());
        assert!(input(with("tls", "h:1", "warn_days", "14".into())).is_err());
    }

    #[test]
    fn tcp_send_and_expect_regex() {
        let t = input(
            serde_json::json!({"name": "smtp", "kind": "tcp", "target": "mail:25", "regions": ["a"],
            "send": "EHLO netpulse\r\n", "expect_regex": "^250"}),
        )
        .expect("valid");
        let ProbeSpec::Tcp(spec) = t.probe else {
            panic!("tcp")
        };
        assert_eq!(
            (spec.port, spec.expect_regex.as_deref()),
            (25, Some("^250"))
        );
        let bad = input(
            serde_json::json!({"name": "x", "kind": "tcp", "target": "h:1", "regions": ["a"], "expect_regex": "("}),
        );
        assert!(bad.expect_err("refused").contains("`expect_regex`"));
        let foreign = input(
            serde_json::json!({"name": "x", "kind": "http", "target": "http://h/", "regions": ["a"], "send": "x"}),
        );
        assert!(foreign.expect_err("refused").contains("`send`"));
    }

    #[test]
    fn http_content_assertions_validate() {
        let base = |extra: serde_json::Value| {
            let mut v = serde_json::json!({"name": "n", "kind": "http", "target": "http://x/", "regions": ["a"]});
            if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
                o.extend(e.clone());
            }
            input(v)
        };
        let ok = base(
            serde_json::json!({"body_regex": "v\\d+", "json_path": "$.a[0].b", "json_equals": 7}),
        )
        .expect("valid");
        let ProbeSpec::Http(h) = ok.probe else {
            panic!("http")
        };
        assert_eq!(h.json_equals.as_deref(), Some("7"));
        assert_eq!(h.body_regex.as_deref(), Some("v\\d+"));
        for (extra, field) in [
            (serde_json::json!({"body_regex": "(open"}), "body_regex"),
            (serde_json::json!({"json_path": "a.b"}), "json_path"),
            (serde_json::json!({"json_equals": 1}), "json_equals"),
            (
                serde_json::json!({"json_path": "$.a", "json_equals": 1, "json_contains": "x"}),
                "json_contains",
            ),
            (serde_json::json!({"ca_pem": "junk"}), "ca_pem"),
        ] {
            let err = base(extra.clone()).expect_err("refused");
            assert!(err.contains(&format!("`{field}`")), "{extra}: {err}");
        }
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (
                serde_json::json!({"name": "", "kind": "http", "target": "http://x", "regions": ["a"]}),
                "name",
            ),
            (
                serde_json::json!({"name": "n", "kind": "smtp", "target": "x", "regions": ["a"]}),
                "kind",
            ),
            (
                serde_json::json!({"name": "n", "kind": "http", "target": "ftp://x", "regions": ["a"]}),
                "target",
            ),
            (
                serde_json::json!({"name": "n", "kind": "http", "target": "http://x", "regions": []}),
                "regions",
            ),
            (
                serde_json::json!({"name": "n", "kind": "http", "target": "http://x", "regions": ["EU"]}),
                "regions",
            ),
            (
                serde_json::json!({"name": "n", "kind": "http", "target": "http://x", "regions": ["a"], "interval_s": 0}),
                "interval_s",
            ),
            (
                serde_json::json!({"name": "n", "kind": "http", "target": "http://x", "regions": ["a"], "expect_status": ["7xx"]}),
                "expect_status",
            ),
            (
                serde_json::json!({"name": "n", "kind": "http", "target": "http://x", "regions": ["a"], "headers": {"a\nb": "c"}}),
                "headers",
            ),
            (
                serde_json::json!({"name": "n", "kind": "tcp", "target": "x:0", "regions": ["a"]}),
                "target",
            ),
            (
                serde_json::json!({"name": "n", "kind": "tcp", "target": "x:1", "regions": ["a"], "method": "GET"}),
                "method",
            ),
        ];
        for (body, field) in cases {
            let err = input(body.clone()).expect_err("must be refused");
            assert!(err.contains(&format!("`{field}`")), "{body}: {err}");
        }
        assert!(input(serde_json::json!({"name": "n", "kind": "tcp", "target": "x:1", "regions": ["a"], "intervall_s": 5})).is_err());
    }

    #[test]
    fn ssh_fields_defaults_and_refusals() {
        let fp = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";
        let m = input(serde_json::json!({"name": "s", "kind": "ssh", "target": "gw.example.org", "regions": ["a"],
            "username": "ops", "password": "pw", "host_key_fingerprint": fp, "command": "uptime",
            "expect_regex": "load", "extract": {"load1": "load average: ([0-9.]+)"}}))
        .expect("valid");
        let ProbeSpec::Ssh(s) = m.probe else {
            panic!("ssh")
        };
        assert_eq!((s.host.as_str(), s.port), ("gw.example.org", 22));
        assert_eq!(s.auth, SshAuth::Password("pw".into()));
        assert_eq!(s.host_key_fingerprint.as_deref(), Some(fp));
        assert_eq!(
            s.extract,
            vec![("load1".into(), "load average: ([0-9.]+)".into())]
        );
        assert!(!s.legacy_algorithms);
        let m = input(serde_json::json!({"name": "s", "kind": "ssh", "target": "[::1]:2222", "regions": ["a"],
            "username": "ops", "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----",
            "private_key_passphrase": "pp", "legacy_algorithms": true}))
        .expect("valid");
        let ProbeSpec::Ssh(s) = m.probe else {
            panic!("ssh")
        };
        assert_eq!((s.host.as_str(), s.port), ("::1", 2222));
        assert!(matches!(
            s.auth,
            SshAuth::PrivateKey {
                passphrase: Some(_),
                ..
            }
        ));
        assert!(s.legacy_algorithms && s.host_key_fingerprint.is_none());

        let base = |extra: serde_json::Value| {
            let mut b = serde_json::json!({"name": "n", "kind": "ssh", "target": "h:22", "regions": ["a"], "username": "u", "password": "p"});
            for (k, v) in extra.as_object().expect("object") {
                if v.is_null() {
                    b.as_object_mut().expect("object").remove(k);
                } else {
                    b[k] = v.clone();
                }
            }
            b
        };
        let cases = [
            (base(serde_json::json!({"username": null})), "username"),
            (base(serde_json::json!({"password": null})), "password"),
            (
                base(serde_json::json!({"private_key": "junk"})),
                "private_key",
            ),
            (
                base(serde_json::json!({"private_key_passphrase": "x"})),
                "private_key_passphrase",
            ),
            (
                base(serde_json::json!({"keyboard_interactive_password": "x"})),
                "keyboard_interactive_password",
            ),
            (
                base(serde_json::json!({"host_key_fingerprint": "MD5:aa:bb"})),
                "host_key_fingerprint",
            ),
            (
                base(serde_json::json!({"host_key_fingerprint": "SHA256:short"})),
                "host_key_fingerprint",
            ),
            (base(serde_json::json!({"command": ""})), "command"),
            (
                base(serde_json::json!({"command": "x", "expect_regex": "("})),
                "expect_regex",
            ),
            (
                base(serde_json::json!({"expect_regex": "ok"})),
                "expect_regex",
            ),
            (
                base(serde_json::json!({"command": "x", "extract": {"n": "[0-9]+"}})),
                "extract",
            ),
            (
                base(serde_json::json!({"command": "x", "extract": {"Bad Name": "([0-9]+)"}})),
                "extract",
            ),
            (
                base(serde_json::json!({"command": "x", "extract": {"total_ms": "([0-9]+)"}})),
                "extract",
            ),
            (
                base(serde_json::json!({"extract": {"n": "([0-9]+)"}})),
                "extract",
            ),
            (base(serde_json::json!({"target": "h:0"})), "target"),
            (base(serde_json::json!({"target": "a b"})), "target"),
            (with_kind("tcp", "h:1", "username", "u"), "username"),
            (
                with_kind("icmp", "h", "legacy_algorithms", true),
                "legacy_algorithms",
            ),
        ];
        for (body, field) in cases {
            let err = input(body.clone()).expect_err("must be refused");
            assert!(err.contains(&format!("`{field}`")), "{body}: {err}");
            assert!(!err.contains("hunter2"));
        }
        // A refused key is never quoted back.
        let err = input(base(
            serde_json::json!({"password": null, "private_key": "hunter2"}),
        ))
        .expect_err("refused");
        assert!(!err.contains("hunter2"), "{err}");
    }

    fn with_kind(
        kind: &str,
        target: &str,
        field: &str,
        value: impl Into<serde_json::Value>,
    ) -> serde_json::Value {
        let mut b =
            serde_json::json!({"name": "n", "kind": kind, "target": target, "regions": ["a"]});
        b[field] = value.into();
        b
    }
}
