//! `icmp` monitors: echo requests to `target`, a host name or an IPv4/IPv6 address (no port).
//!
//! Fields: `count` (echo requests per run), `packet_size` (payload bytes).

use netpulse_protocol::check::{
    normalize_dns_name, IcmpSpec, ICMP_DEFAULT_COUNT, ICMP_DEFAULT_PACKET_SIZE, ICMP_MAX_COUNT,
    ICMP_MAX_PACKET_SIZE, ICMP_MIN_COUNT,
};
use serde::Deserialize;

use super::InputError;

/// The fields of an `icmp` monitor beside the common ones.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Input {
    count: Option<u32>,
    packet_size: Option<u32>,
}

impl Input {
    /// Checks every field against `target` and builds the spec.
    pub(super) fn validate(self, target: &str) -> Result<IcmpSpec, InputError> {
        let host = target
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(target);
        let valid = host.parse::<std::net::IpAddr>().is_ok()
            || !host.contains(':') && normalize_dns_name(host).is_ok();
        if !valid {
            return Err(InputError::invalid_field(
                "target",
                "must be a host name or an IPv4/IPv6 address",
            ));
        }
        let count = self.count.unwrap_or(u32::from(ICMP_DEFAULT_COUNT));
        let count = u8::try_from(count)
            .ok()
            .filter(|c| (ICMP_MIN_COUNT..=ICMP_MAX_COUNT).contains(c))
            .ok_or_else(|| {
                InputError::invalid_field(
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
                InputError::invalid_field(
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
}

#[cfg(test)]
mod tests {
    use netpulse_protocol::check::ProbeSpec;

    use super::super::test_support::{input, with_kind, CA_PEM};
    use super::*;

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
    fn refusals_name_the_field() {
        let cases = [
            (with_kind("icmp", "h", "count", 0), "count"),
            (with_kind("icmp", "h", "count", 21), "count"),
            (with_kind("icmp", "h", "count", 300), "count"),
            (with_kind("icmp", "h", "packet_size", 1473), "packet_size"),
            (
                serde_json::json!({"name": "n", "kind": "icmp", "target": "h:80", "regions": ["a"]}),
                "target",
            ),
            // Fields of another kind.
            (with_kind("icmp", "h", "ca_pem", CA_PEM), "ca_pem"),
            (
                with_kind("icmp", "h", "legacy_algorithms", true),
                "legacy_algorithms",
            ),
            // Out-of-type values are refused while parsing, naming the field.
            (with_kind("icmp", "h", "count", -1), "count"),
        ];
        for (body, field) in cases {
            let err = input(body.clone()).expect_err("must be refused");
            assert!(err.contains(&format!("`{field}`")), "{body}: {err}");
        }
    }
}
