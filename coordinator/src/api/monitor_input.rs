//! Validation of monitor bodies (`POST /v1/monitors`, `PUT /v1/monitors/{id}`).
//!
//! Unknown fields are refused, so a typo never silently becomes a default, and so is a field
//! that belongs to another kind (`count` on an `http` monitor). Every refusal names the field.
//!
//! Kinds and their fields (beside `name`, `kind`, `target`, `interval_s`, `timeout_s`,
//! `regions`, `paused`); `docs/probes.md` has the full reference:
//! - `http`: `method`, `headers`, `body`, `expect_status`, `body_contains`, `follow_redirects`,
//!   `insecure_skip_verify`;
//! - `tcp`: none (`target` is `host:port`);
//! - `dns`: `record_type`, `nameserver`, `expect`, `expect_rcode` (`target` is the name);
//! - `tls`: `server_name`, `warn_days`, `critical_days`, `ca_pem`, `min_version`;
//! - `icmp`: `count`, `packet_size` (`target` is a host).

use std::collections::BTreeMap;

use netpulse_protocol::check::{
    normalize_dns_name, parse_rcode, DnsRecordType, DnsSpec, Endpoint, HttpSpec, IcmpSpec,
    ProbeSpec, StatusMatch, TcpSpec, TlsSpec, TlsVersion, DNS_RECORD_TYPES, ICMP_DEFAULT_COUNT,
    ICMP_DEFAULT_PACKET_SIZE, ICMP_MAX_COUNT, ICMP_MAX_PACKET_SIZE, ICMP_MIN_COUNT,
    TLS_DEFAULT_CRITICAL_DAYS, TLS_DEFAULT_WARN_DAYS,
};
use serde::Deserialize;

use super::error::ApiError;
use crate::state::model::ALL_REGIONS;

/// A monitor as submitted by an operator.
#[derive(Debug, Deserialize)]
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
}

/// Kinds a monitor can have, as named in the API.
pub const KINDS: [&str; 5] = ["http", "tcp", "dns", "tls", "icmp"];

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
    pub fn validate(self) -> Result<ValidMonitor, ApiError> {
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
        let probe = match self.kind.as_str() {
            "http" => ProbeSpec::Http(self.http(&target)?),
            "tcp" => ProbeSpec::Tcp(parse_host_port(&target)?),
            "dns" => ProbeSpec::Dns(self.dns(&target)?),
            "tls" => ProbeSpec::Tls(self.tls(&target)?),
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
        })
    }

    /// Refuses the first kind-specific field that was given but belongs to another kind.
    fn refuse_foreign_fields(&self) -> Result<(), ApiError> {
        let fields: [(&str, bool, &str); 18] = [
            ("method", self.method.is_some(), "http"),
            ("headers", self.headers.is_some(), "http"),
            ("body", self.body.is_some(), "http"),
            ("expect_status", self.expect_status.is_some(), "http"),
            ("body_contains", self.body_contains.is_some(), "http"),
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
            ("ca_pem", self.ca_pem.is_some(), "tls"),
            ("min_version", self.min_version.is_some(), "tls"),
            ("count", self.count.is_some(), "icmp"),
            ("packet_size", self.packet_size.is_some(), "icmp"),
        ];
        match fields
            .iter()
            .find(|(_, present, kind)| *present && *kind != self.kind)
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
        let TcpSpec { host, port } = parse_host_port(target)?;
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
        Ok(HttpSpec {
            url: target.to_owned(),
            method,
            headers,
            body: self.body.clone(),
            expect_status,
            body_contains: self.body_contains.clone().filter(|s| !s.is_empty()),
            follow_redirects: self.follow_redirects.unwrap_or(true),
            insecure_skip_verify: self.insecure_skip_verify.unwrap_or(false),
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
        let TcpSpec { host, port } = parse_host_port(text).map_err(|_| bad())?;
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
    })
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
                port: 5432
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
}
