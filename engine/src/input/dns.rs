//! `dns` monitors: one query for the name in `target` (trailing dot optional, `.` for the
//! root; an internationalized name is converted to its `xn--` form by the edge node).
//!
//! Fields: `record_type` (default `A`), `nameserver` (default: the node's resolver),
//! `expect` (answers that must all be present), `expect_rcode` (default `NOERROR`).

use netpulse_protocol::check::{
    normalize_dns_name, parse_rcode, DnsRecordType, DnsSpec, Endpoint, TcpSpec, DNS_RECORD_TYPES,
};
use serde::Deserialize;

use super::shared::parse_host_port;
use super::InputError;

/// Most expected DNS answers per monitor.
const MAX_EXPECT: usize = 64;

/// Longest expected DNS answer.
const MAX_EXPECT_LEN: usize = 1024;

/// The fields of a `dns` monitor beside the common ones.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Input {
    record_type: Option<String>,
    nameserver: Option<String>,
    expect: Option<Vec<String>>,
    expect_rcode: Option<serde_json::Value>,
}

impl Input {
    /// Checks every field against `target` (the name to query) and builds the spec.
    pub(super) fn validate(self, target: &str) -> Result<DnsSpec, InputError> {
        check_query_name(target)?;
        let record_type = match self.record_type.as_deref() {
            None => DnsRecordType::A,
            Some(t) => DnsRecordType::parse(t).ok_or_else(|| {
                let types = DNS_RECORD_TYPES
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                InputError::invalid_field("record_type", format!("{t:?} is not one of {types}"))
            })?,
        };
        let nameserver = self
            .nameserver
            .as_deref()
            .map(parse_nameserver)
            .transpose()?;
        let expect = self.expect.unwrap_or_default();
        if expect.len() > MAX_EXPECT {
            return Err(InputError::invalid_field(
                "expect",
                format!("at most {MAX_EXPECT} answers"),
            ));
        }
        let mut trimmed = Vec::with_capacity(expect.len());
        for (i, answer) in expect.iter().enumerate() {
            if answer.len() > MAX_EXPECT_LEN {
                return Err(InputError::invalid_field(
                    "expect",
                    format!("answer #{i} is longer than {MAX_EXPECT_LEN} bytes"),
                ));
            }
            record_type.normalize_answer(answer).map_err(|why| {
                InputError::invalid_field("expect", format!("answer #{i}: {why}"))
            })?;
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
                    InputError::invalid_field("expect_rcode", format!("{v} is not a response code (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ... or 0-4095)"))
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
}

/// A name to query: a DNS name (trailing dot optional, `.` for the root), or an
/// internationalized one that the edge node converts to its `xn--` form.
fn check_query_name(name: &str) -> Result<(), InputError> {
    if name.is_ascii() {
        return normalize_dns_name(name)
            .map(|_| ())
            .map_err(|why| InputError::invalid_field("target", why));
    }
    if name.chars().count() > 253 || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(InputError::invalid_field("target", "not a DNS name"));
    }
    Ok(())
}

/// Parses a nameserver: `host:port`, `[v6]:port`, or a bare IP address or host name (port 53).
fn parse_nameserver(text: &str) -> Result<Endpoint, InputError> {
    let text = text.trim();
    let bad = || {
        InputError::invalid_field(
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

#[cfg(test)]
mod tests {
    use netpulse_protocol::check::ProbeSpec;

    use super::super::test_support::{input, with_kind};
    use super::*;

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
    fn refusals_name_the_field() {
        let base = |target: &str| serde_json::json!({"name": "n", "kind": "dns", "target": target, "regions": ["a"]});
        let with =
            |field: &str, value: serde_json::Value| with_kind("dns", "x.example", field, value);
        let cases = [
            (with("record_type", "PTR".into()), "record_type"),
            (with("expect", serde_json::json!(["not-an-ip"])), "expect"),
            (with("expect", serde_json::json!(["10"])), "expect"),
            (with("expect_rcode", "BOGUS".into()), "expect_rcode"),
            (with("expect_rcode", 5000.into()), "expect_rcode"),
            (with("nameserver", "a b".into()), "nameserver"),
            (with("nameserver", "host:0".into()), "nameserver"),
            (base("a..b"), "target"),
            (base("x y.example"), "target"),
            // Fields of another kind.
            (with("method", "GET".into()), "method"),
        ];
        for (body, field) in cases {
            let err = input(body.clone()).expect_err("must be refused");
            assert!(err.contains(&format!("`{field}`")), "{body}: {err}");
        }
    }
}
