//! `tls` monitors: a handshake with `target` (`host:port`) that checks the certificate chain
//! and its expiry.
//!
//! Fields: `server_name` (SNI, default the host), `warn_days` (14), `critical_days` (3, at most
//! `warn_days`), `ca_pem` (extra trust anchors), `min_version` (`"1.2"` or `"1.3"`).

use netpulse_protocol::check::{
    normalize_dns_name, TcpSpec, TlsSpec, TlsVersion, TLS_DEFAULT_CRITICAL_DAYS,
    TLS_DEFAULT_WARN_DAYS,
};
use serde::Deserialize;

use super::shared::{check_ca_pem, parse_host_port};
use super::InputError;

/// Most days a TLS threshold may name (ten years).
const MAX_THRESHOLD_DAYS: u32 = 3650;

/// The fields of a `tls` monitor beside the common ones.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Input {
    server_name: Option<String>,
    warn_days: Option<u32>,
    critical_days: Option<u32>,
    ca_pem: Option<String>,
    min_version: Option<serde_json::Value>,
}

impl Input {
    /// Checks every field against `target` and builds the spec.
    pub(super) fn validate(self, target: &str) -> Result<TlsSpec, InputError> {
        let TcpSpec { host, port, .. } = parse_host_port(target)?;
        let server_name = match self.server_name.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => {
                if name.parse::<std::net::IpAddr>().is_err() {
                    normalize_dns_name(name)
                        .map_err(|why| InputError::invalid_field("server_name", why))?;
                }
                Some(name.to_owned())
            }
        };
        let warn_days = self.warn_days.unwrap_or(TLS_DEFAULT_WARN_DAYS);
        if warn_days > MAX_THRESHOLD_DAYS {
            return Err(InputError::invalid_field(
                "warn_days",
                format!("must be 0 to {MAX_THRESHOLD_DAYS}"),
            ));
        }
        let critical_days = self
            .critical_days
            .unwrap_or(TLS_DEFAULT_CRITICAL_DAYS.min(warn_days));
        if critical_days > warn_days {
            return Err(InputError::invalid_field(
                "critical_days",
                format!("must not exceed warn_days ({warn_days})"),
            ));
        }
        let ca_pem = self.ca_pem.as_deref().map(check_ca_pem).transpose()?;
        let min_version = match &self.min_version {
            None => TlsVersion::Tls12,
            Some(v) => {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    _ => String::new(),
                };
                TlsVersion::parse(&text).ok_or_else(|| {
                    InputError::invalid_field(
                        "min_version",
                        format!("{v} is not \"1.2\" or \"1.3\""),
                    )
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
}

#[cfg(test)]
mod tests {
    use netpulse_protocol::check::ProbeSpec;

    use super::super::test_support::{input, with_kind, CA_PEM};
    use super::*;

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
    fn refusals_name_the_field() {
        let with = |field: &str, value: serde_json::Value| with_kind("tls", "h:443", field, value);
        let cases = [
            (
                serde_json::json!({"name": "n", "kind": "tls", "target": "example.org", "regions": ["a"]}),
                "target",
            ),
            (with("warn_days", 5000.into()), "warn_days"),
            (with("critical_days", 20.into()), "critical_days"),
            (with("ca_pem", "junk".into()), "ca_pem"),
            (
                with(
                    "ca_pem",
                    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
                ),
                "ca_pem",
            ),
            (with("min_version", "1.1".into()), "min_version"),
            (with("min_version", true.into()), "min_version"),
            (with("server_name", "bad name".into()), "server_name"),
            // Fields of another kind.
            (with("record_type", "A".into()), "record_type"),
        ];
        for (body, field) in cases {
            let err = input(body.clone()).expect_err("must be refused");
            assert!(err.contains(&format!("`{field}`")), "{body}: {err}");
        }
        // Out-of-type values are refused while parsing, naming the field.
        let err = input(with("warn_days", "14".into())).expect_err("a string");
        assert!(err.contains("field `warn_days`"), "{err}");
    }
}
