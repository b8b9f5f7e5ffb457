//! Validation of `snmp` monitors.
//!
//! Fields: `version` (`"v2c"`, the default, or `"v3"`); for v2c `community` (required); for v3
//! `user` (required), `auth_protocol` + `auth_password`, `priv_protocol` + `priv_password`
//! (privacy needs authentication; passwords at least 8 characters); `oids` (GET), `walk`
//! (subtrees), `rates` (counters), all dotted numeric OIDs; `thresholds`, a list of
//! `{oid, op, value, severity}`. `target` is `host[:port]` (port 161 by default).

use netpulse_protocol::check::{
    parse_numeric_oid, SnmpAuthProtocol, SnmpPrivProtocol, SnmpSpec, SnmpThreshold, SnmpVersion,
    TcpSpec, ThresholdOp, ThresholdSeverity, SNMP_AUTH_PROTOCOLS, SNMP_DEFAULT_PORT,
    SNMP_PRIV_PROTOCOLS,
};
use serde::Deserialize;

use netpulse_protocol::check::normalize_dns_name;

use super::shared::parse_host_port;
use super::InputError;

/// Most OIDs in `oids`, `rates` and `thresholds` each.
const MAX_OIDS: usize = 128;
/// Most subtrees in `walk`.
const MAX_WALKS: usize = 16;

// What a check yields up front (each GET OID, each rate counter with its `_per_s`, plus
// `response_ms` and `sys_uptime_s`) must fit in one result, so such a monitor is refused here
// rather than cut on the node. Walks cannot be known up front: the node stops them at the
// limit and marks the result truncated.
const _: () = assert!(
    MAX_OIDS + 2 * MAX_OIDS + 2 <= netpulse_protocol::limits::MAX_METRICS,
    "an SNMP check's GET and rate values must fit in one result"
);
/// Longest community or password.
const MAX_SECRET: usize = 256;
/// Longest USM user name (RFC 3414: `SnmpAdminString (SIZE(1..32))`).
const MAX_USER: usize = 32;

/// One threshold as submitted: `{"oid": "...", "op": ">", "value": 90, "severity": "down"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdInput {
    oid: String,
    op: String,
    value: f64,
    severity: Option<String>,
}

/// The fields of an `snmp` monitor beside the common ones.
/// No `Debug`: it holds the community and USM passwords as submitted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Input {
    version: Option<String>,
    community: Option<String>,
    user: Option<String>,
    auth_protocol: Option<String>,
    auth_password: Option<String>,
    priv_protocol: Option<String>,
    priv_password: Option<String>,
    oids: Option<Vec<String>>,
    walk: Option<Vec<String>>,
    thresholds: Option<Vec<ThresholdInput>>,
    rates: Option<Vec<String>>,
}

impl Input {
    /// Checks every field against `target` and builds the spec.
    pub(super) fn validate(self, target: &str) -> Result<SnmpSpec, InputError> {
        let TcpSpec { host, port, .. } = snmp_target(target)?;
        let version = match self.version.as_deref().map(str::trim) {
            None | Some("v2c") | Some("2c") => {
                for (field, given) in [
                    ("user", self.user.is_some()),
                    ("auth_protocol", self.auth_protocol.is_some()),
                    ("auth_password", self.auth_password.is_some()),
                    ("priv_protocol", self.priv_protocol.is_some()),
                    ("priv_password", self.priv_password.is_some()),
                ] {
                    if given {
                        return Err(InputError::invalid_field(field, "only for version \"v3\""));
                    }
                }
                let community = self.community.as_deref().unwrap_or_default();
                if community.is_empty() || community.len() > MAX_SECRET {
                    return Err(InputError::invalid_field(
                        "community",
                        format!("required for v2c, 1 to {MAX_SECRET} bytes"),
                    ));
                }
                SnmpVersion::V2c {
                    community: community.to_owned(),
                }
            }
            Some("v3") | Some("3") => self.snmp_v3()?,
            Some(other) => {
                return Err(InputError::invalid_field(
                    "version",
                    format!("{other:?} is not \"v2c\" or \"v3\""),
                ))
            }
        };
        let oids = oid_list("oids", self.oids.as_deref(), MAX_OIDS)?;
        let walk = oid_list("walk", self.walk.as_deref(), MAX_WALKS)?;
        let rates = oid_list("rates", self.rates.as_deref(), MAX_OIDS)?;
        let mut thresholds = Vec::new();
        let given = self.thresholds.as_deref().unwrap_or_default();
        if given.len() > MAX_OIDS {
            return Err(InputError::invalid_field(
                "thresholds",
                format!("at most {MAX_OIDS} thresholds"),
            ));
        }
        for (i, t) in given.iter().enumerate() {
            thresholds.push(threshold(i, t)?);
        }
        Ok(SnmpSpec {
            host,
            port,
            version,
            oids,
            walk,
            thresholds,
            rates,
        })
    }

    fn snmp_v3(&self) -> Result<SnmpVersion, InputError> {
        if self.community.is_some() {
            return Err(InputError::invalid_field(
                "community",
                "only for version \"v2c\"",
            ));
        }
        let user = self.user.as_deref().map(str::trim).unwrap_or_default();
        if user.is_empty() || user.len() > MAX_USER {
            return Err(InputError::invalid_field(
                "user",
                format!("required for v3, 1 to {MAX_USER} bytes"),
            ));
        }
        let auth = match (&self.auth_protocol, &self.auth_password) {
            (None, None) => None,
            (Some(p), Some(pw)) => {
                let protocol = SnmpAuthProtocol::parse(p).ok_or_else(|| {
                    let names: Vec<&str> = SNMP_AUTH_PROTOCOLS.iter().map(|p| p.as_str()).collect();
                    InputError::invalid_field(
                        "auth_protocol",
                        format!("{p:?} is not one of {}", names.join(", ")),
                    )
                })?;
                check_password("auth_password", pw)?;
                Some((protocol, pw.clone()))
            }
            (None, Some(_)) => {
                return Err(InputError::invalid_field(
                    "auth_protocol",
                    "required with auth_password",
                ))
            }
            (Some(_), None) => {
                return Err(InputError::invalid_field(
                    "auth_password",
                    "required with auth_protocol",
                ))
            }
        };
        let privacy = match (&self.priv_protocol, &self.priv_password) {
            (None, None) => None,
            (Some(p), Some(pw)) => {
                if auth.is_none() {
                    return Err(InputError::invalid_field(
                        "priv_protocol",
                        "privacy needs authentication (auth_protocol, auth_password)",
                    ));
                }
                let protocol = SnmpPrivProtocol::parse(p).ok_or_else(|| {
                    let names: Vec<&str> = SNMP_PRIV_PROTOCOLS.iter().map(|p| p.as_str()).collect();
                    InputError::invalid_field(
                        "priv_protocol",
                        format!("{p:?} is not one of {}", names.join(", ")),
                    )
                })?;
                check_password("priv_password", pw)?;
                Some((protocol, pw.clone()))
            }
            (None, Some(_)) => {
                return Err(InputError::invalid_field(
                    "priv_protocol",
                    "required with priv_password",
                ))
            }
            (Some(_), None) => {
                return Err(InputError::invalid_field(
                    "priv_password",
                    "required with priv_protocol",
                ))
            }
        };
        Ok(SnmpVersion::V3 {
            user: user.to_owned(),
            auth,
            privacy,
        })
    }
}

/// `host:port`, `[v6]:port`, or a bare host name / IP address (port 161).
fn snmp_target(target: &str) -> Result<TcpSpec, InputError> {
    let bad = || {
        InputError::invalid_field(
            "target",
            "must be host[:port] or [IPv6]:port (port 161 by default)",
        )
    };
    if let Ok(ip) = target.parse::<std::net::IpAddr>() {
        return Ok(TcpSpec {
            host: ip.to_string(),
            port: SNMP_DEFAULT_PORT,
            ..Default::default()
        });
    }
    if let Some(v6) = target.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        let ip: std::net::Ipv6Addr = v6.parse().map_err(|_| bad())?;
        return Ok(TcpSpec {
            host: ip.to_string(),
            port: SNMP_DEFAULT_PORT,
            ..Default::default()
        });
    }
    let spec = if target.contains(':') {
        parse_host_port(target).map_err(|_| bad())?
    } else {
        TcpSpec {
            host: target.to_owned(),
            port: SNMP_DEFAULT_PORT,
            ..Default::default()
        }
    };
    if spec.host.parse::<std::net::IpAddr>().is_err() && normalize_dns_name(&spec.host).is_err() {
        return Err(bad());
    }
    Ok(spec)
}

fn check_password(field: &str, pw: &str) -> Result<(), InputError> {
    // USM derives keys from passwords of at least 8 octets (RFC 3414, section 11.2).
    if pw.len() < 8 || pw.len() > MAX_SECRET {
        return Err(InputError::invalid_field(
            field,
            format!("must be 8 to {MAX_SECRET} bytes"),
        ));
    }
    Ok(())
}

fn oid_list(field: &str, oids: Option<&[String]>, max: usize) -> Result<Vec<String>, InputError> {
    let oids = oids.unwrap_or_default();
    if oids.len() > max {
        return Err(InputError::invalid_field(
            field,
            format!("at most {max} OIDs"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(oids.len());
    for (i, oid) in oids.iter().enumerate() {
        let oid = parse_numeric_oid(oid)
            .map_err(|why| InputError::invalid_field(field, format!("#{i}: {why}")))?;
        if !out.contains(&oid) {
            out.push(oid);
        }
    }
    Ok(out)
}

/// A threshold names a metric of the run: a numeric OID (GET or walked), `<oid>_per_s` (a
/// rate), `sys_uptime_s` or `response_ms`.
fn threshold(i: usize, t: &ThresholdInput) -> Result<SnmpThreshold, InputError> {
    let bad = |why: String| InputError::invalid_field("thresholds", format!("#{i}: {why}"));
    let name = t.oid.trim();
    let oid = match name {
        "sys_uptime_s" | "response_ms" => name.to_owned(),
        _ => match name.strip_suffix("_per_s") {
            Some(counter) => format!("{}_per_s", parse_numeric_oid(counter).map_err(bad)?),
            None => parse_numeric_oid(name).map_err(bad)?,
        },
    };
    let op = ThresholdOp::parse(&t.op)
        .ok_or_else(|| bad(format!("op {:?} is not one of <, <=, >, >=, ==, !=", t.op)))?;
    if !t.value.is_finite() {
        return Err(bad("value must be a finite number".into()));
    }
    let severity = match t.severity.as_deref() {
        None => ThresholdSeverity::Down,
        Some(s) => ThresholdSeverity::parse(s)
            .ok_or_else(|| bad(format!("severity {s:?} is not \"degraded\" or \"down\"")))?,
    };
    Ok(SnmpThreshold {
        oid,
        op,
        value: t.value,
        severity,
    })
}

#[cfg(test)]
mod tests {
    use netpulse_protocol::check::ProbeSpec;

    use super::super::test_support::input;
    use super::*;

    fn snmp(extra: serde_json::Value) -> Result<SnmpSpec, String> {
        let mut body = serde_json::json!({
            "name": "s", "kind": "snmp", "target": "192.0.2.1", "regions": ["a"]
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        match input(body)?.probe {
            ProbeSpec::Snmp(s) => Ok(s),
            other => Err(format!("not snmp: {other:?}")),
        }
    }

    #[test]
    fn v2c_defaults_and_fields() {
        let s = snmp(serde_json::json!({"community": "public"})).expect("valid");
        assert_eq!((s.host.as_str(), s.port), ("192.0.2.1", 161));
        assert_eq!(
            s.version,
            SnmpVersion::V2c {
                community: "public".into()
            }
        );
        assert!(s.oids.is_empty() && s.walk.is_empty() && s.thresholds.is_empty());
        let s = snmp(serde_json::json!({
            "target": "switch.example.org:1161", "version": "v2c", "community": "public",
            "oids": [".1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.5.0"], "walk": ["1.3.6.1.2.1.2.2.1.10"],
            "rates": ["1.3.6.1.2.1.2.2.1.10.1"],
            "thresholds": [
                {"oid": "1.3.6.1.2.1.2.2.1.10.1_per_s", "op": ">", "value": 1e6, "severity": "degraded"},
                {"oid": "sys_uptime_s", "op": "<", "value": 300}
            ]
        }))
        .expect("valid");
        assert_eq!((s.host.as_str(), s.port), ("switch.example.org", 1161));
        assert_eq!(s.oids, vec!["1.3.6.1.2.1.1.5.0".to_owned()]);
        assert_eq!(s.thresholds.len(), 2);
        assert_eq!(s.thresholds[0].oid, "1.3.6.1.2.1.2.2.1.10.1_per_s");
        assert_eq!(s.thresholds[0].severity, ThresholdSeverity::Degraded);
        assert_eq!(s.thresholds[1].op, ThresholdOp::Lt);
        assert_eq!(s.thresholds[1].severity, ThresholdSeverity::Down);
        let s = snmp(serde_json::json!({"target": "[::1]:161", "community": "c"})).expect("v6");
        assert_eq!(s.host, "::1");
    }

    #[test]
    fn v3_fields() {
        let s = snmp(serde_json::json!({
            "version": "v3", "user": "mon", "auth_protocol": "SHA256", "auth_password": "authpass123",
            "priv_protocol": "aes", "priv_password": "privpass123"
        }))
        .expect("valid");
        assert_eq!(
            s.version,
            SnmpVersion::V3 {
                user: "mon".into(),
                auth: Some((SnmpAuthProtocol::Sha256, "authpass123".into())),
                privacy: Some((SnmpPrivProtocol::Aes, "privpass123".into())),
            }
        );
        let s = snmp(serde_json::json!({"version": "v3", "user": "mon"})).expect("noAuthNoPriv");
        assert!(matches!(
            s.version,
            SnmpVersion::V3 {
                auth: None,
                privacy: None,
                ..
            }
        ));
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (serde_json::json!({}), "community"),
            (
                serde_json::json!({"community": "c", "version": "v1"}),
                "version",
            ),
            (serde_json::json!({"community": "c", "user": "u"}), "user"),
            (serde_json::json!({"version": "v3"}), "user"),
            (
                serde_json::json!({"version": "v3", "user": "u", "community": "c"}),
                "community",
            ),
            (
                serde_json::json!({"version": "v3", "user": "u", "auth_protocol": "sha"}),
                "auth_password",
            ),
            (
                serde_json::json!({"version": "v3", "user": "u", "auth_protocol": "sha3", "auth_password": "12345678"}),
                "auth_protocol",
            ),
            (
                serde_json::json!({"version": "v3", "user": "u", "auth_protocol": "sha", "auth_password": "short"}),
                "auth_password",
            ),
            (
                serde_json::json!({"version": "v3", "user": "u", "priv_protocol": "aes", "priv_password": "12345678"}),
                "priv_protocol",
            ),
            (
                serde_json::json!({"version": "v3", "user": "u", "auth_protocol": "sha", "auth_password": "12345678", "priv_protocol": "blowfish", "priv_password": "12345678"}),
                "priv_protocol",
            ),
            (
                serde_json::json!({"community": "c", "oids": ["sysDescr.0"]}),
                "oids",
            ),
            (serde_json::json!({"community": "c", "walk": ["1"]}), "walk"),
            (
                serde_json::json!({"community": "c", "rates": ["1.3.x"]}),
                "rates",
            ),
            (
                serde_json::json!({"community": "c", "thresholds": [{"oid": "ifInOctets", "op": ">", "value": 1}]}),
                "thresholds",
            ),
            (
                serde_json::json!({"community": "c", "thresholds": [{"oid": "1.3.6", "op": "=>", "value": 1}]}),
                "thresholds",
            ),
            (
                serde_json::json!({"community": "c", "thresholds": [{"oid": "1.3.6", "op": ">", "value": 1, "severity": "warn"}]}),
                "thresholds",
            ),
            (
                serde_json::json!({"community": "c", "target": "host:0"}),
                "target",
            ),
            (
                serde_json::json!({"community": "c", "target": "bad host"}),
                "target",
            ),
        ];
        for (extra, field) in cases {
            let err = snmp(extra.clone()).expect_err(&extra.to_string());
            assert!(err.contains(field), "{extra}: {err}");
            assert!(!err.contains("12345678"), "secret in {err}");
        }
        let err = input(serde_json::json!({"name": "h", "kind": "http", "target": "http://x/", "regions": ["a"], "community": "c"}))
            .expect_err("foreign field");
        assert!(err.contains("community"), "{err}");
    }
}
