//! Validation of monitor bodies (`POST /v1/monitors`, `PUT /v1/monitors/{id}`).
//!
//! Unknown fields are refused, so a typo never silently becomes a default. Every refusal names
//! the field.

use std::collections::BTreeMap;

use netpulse_protocol::check::{HttpSpec, ProbeSpec, StatusMatch, TcpSpec};
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
}

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
        && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

const HTTP_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

impl MonitorInput {
    /// Checks every field and builds the probe configuration.
    pub fn validate(self) -> Result<ValidMonitor, ApiError> {
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ApiError::invalid_field("name", "must be 1 to 200 characters"));
        }
        let interval_s = self.interval_s.unwrap_or(60);
        if !(1..=86_400).contains(&interval_s) {
            return Err(ApiError::invalid_field("interval_s", "must be between 1 and 86400"));
        }
        let timeout_s = self.timeout_s.unwrap_or(interval_s.min(10));
        if !(1..=300).contains(&timeout_s) {
            return Err(ApiError::invalid_field("timeout_s", "must be between 1 and 300"));
        }
        if self.regions.is_empty() {
            return Err(ApiError::invalid_field("regions", "name at least one region (or \"all\")"));
        }
        let mut regions = Vec::with_capacity(self.regions.len());
        for r in &self.regions {
            if r != ALL_REGIONS && !valid_region(r) {
                return Err(ApiError::invalid_field("regions", format!("{r:?} is not a region tag ([a-z0-9-], 1-32 chars)")));
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
            return Err(ApiError::invalid_field("target", "must be 1 to 2048 characters"));
        }
        let probe = match self.kind.as_str() {
            "http" => ProbeSpec::Http(self.http(&target)?),
            "tcp" => {
                self.refuse_http_fields()?;
                ProbeSpec::Tcp(parse_host_port(&target)?)
            }
            other => {
                return Err(ApiError::invalid_field("kind", format!("unknown kind {other:?} (expected \"http\" or \"tcp\")")))
            }
        };
        Ok(ValidMonitor { name, target, interval_s, timeout_s, regions, paused: self.paused, probe })
    }

    fn refuse_http_fields(&self) -> Result<(), ApiError> {
        let set = [
            ("method", self.method.is_some()),
            ("headers", self.headers.is_some()),
            ("body", self.body.is_some()),
            ("expect_status", self.expect_status.is_some()),
            ("body_contains", self.body_contains.is_some()),
            ("follow_redirects", self.follow_redirects.is_some()),
            ("insecure_skip_verify", self.insecure_skip_verify.is_some()),
        ];
        match set.iter().find(|(_, present)| *present) {
            Some((field, _)) => Err(ApiError::invalid_field(field, format!("not valid for kind {:?}", self.kind))),
            None => Ok(()),
        }
    }

    fn http(&self, target: &str) -> Result<HttpSpec, ApiError> {
        let lower = target.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("http://")
            .or_else(|| lower.strip_prefix("https://"))
            .ok_or_else(|| ApiError::invalid_field("target", "must be an http:// or https:// URL"))?;
        if rest.is_empty() || rest.starts_with('/') || target.chars().any(char::is_whitespace) {
            return Err(ApiError::invalid_field("target", "URL has no host"));
        }
        let method = self.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
        if !HTTP_METHODS.contains(&method.as_str()) {
            return Err(ApiError::invalid_field("method", format!("must be one of {}", HTTP_METHODS.join(", "))));
        }
        let mut headers = Vec::new();
        for (k, v) in self.headers.iter().flatten() {
            let token = !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !token || v.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                return Err(ApiError::invalid_field("headers", format!("invalid header {k:?}")));
            }
            headers.push((k.clone(), v.clone()));
        }
        let mut expect_status = Vec::new();
        for v in self.expect_status.iter().flatten() {
            let parsed = match v {
                serde_json::Value::Number(n) => n.as_u64().and_then(|n| StatusMatch::parse(&n.to_string())),
                serde_json::Value::String(s) => StatusMatch::parse(s),
                _ => None,
            };
            expect_status.push(parsed.ok_or_else(|| {
                ApiError::invalid_field("expect_status", format!("{v} is not a status code (100-599) or class like \"2xx\""))
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
    Ok(TcpSpec { host: host.to_owned(), port })
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
        let ProbeSpec::Http(h) = m.probe else { panic!("http") };
        assert_eq!(h.method, "GET");
        assert!(h.follow_redirects);
        let t = input(serde_json::json!({"name": "db", "kind": "tcp", "target": "[::1]:5432", "regions": ["all"]})).expect("valid");
        assert_eq!(t.probe, ProbeSpec::Tcp(TcpSpec { host: "::1".into(), port: 5432 }));
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (serde_json::json!({"name": "", "kind": "http", "target": "http://x", "regions": ["a"]}), "name"),
            (serde_json::json!({"name": "n", "kind": "smtp", "target": "x", "regions": ["a"]}), "kind"),
            (serde_json::json!({"name": "n", "kind": "http", "target": "ftp://x", "regions": ["a"]}), "target"),
            (serde_json::json!({"name": "n", "kind": "http", "target": "http://x", "regions": []}), "regions"),
            (serde_json::json!({"name": "n", "kind": "http", "target": "http://x", "regions": ["EU"]}), "regions"),
            (serde_json::json!({"name": "n", "kind": "http", "target": "http://x", "regions": ["a"], "interval_s": 0}), "interval_s"),
            (serde_json::json!({"name": "n", "kind": "http", "target": "http://x", "regions": ["a"], "expect_status": ["7xx"]}), "expect_status"),
            (serde_json::json!({"name": "n", "kind": "http", "target": "http://x", "regions": ["a"], "headers": {"a\nb": "c"}}), "headers"),
            (serde_json::json!({"name": "n", "kind": "tcp", "target": "x:0", "regions": ["a"]}), "target"),
            (serde_json::json!({"name": "n", "kind": "tcp", "target": "x:1", "regions": ["a"], "method": "GET"}), "method"),
        ];
        for (body, field) in cases {
            let err = input(body.clone()).expect_err("must be refused");
            assert!(err.contains(&format!("`{field}`")), "{body}: {err}");
        }
        assert!(input(serde_json::json!({"name": "n", "kind": "tcp", "target": "x:1", "regions": ["a"], "intervall_s": 5})).is_err());
    }
}
