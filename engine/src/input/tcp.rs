//! `tcp` monitors: a connect to `target` (`host:port`), optionally sending `send` and matching
//! the answer against `expect_regex`.

use netpulse_protocol::check::TcpSpec;
use serde::Deserialize;

use super::shared::{check_regex, parse_host_port};
use super::InputError;

/// Longest `send` payload.
const MAX_SEND: usize = 4096;

/// The fields of a `tcp` monitor beside the common ones.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Input {
    send: Option<String>,
    expect_regex: Option<String>,
}

impl Input {
    /// Checks every field against `target` and builds the spec.
    pub(super) fn validate(self, target: &str) -> Result<TcpSpec, InputError> {
        let mut spec = parse_host_port(target)?;
        if let Some(send) = &self.send {
            if send.is_empty() || send.len() > MAX_SEND {
                return Err(InputError::invalid_field("send", "1 to 4096 bytes"));
            }
        }
        if let Some(re) = self.expect_regex.as_deref() {
            check_regex("expect_regex", re, None)?;
        }
        spec.send = self.send;
        spec.expect_regex = self.expect_regex.filter(|r| !r.is_empty());
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use netpulse_protocol::check::ProbeSpec;

    use super::super::test_support::{input, with_kind};

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
        let bad = input(with_kind("tcp", "h:1", "expect_regex", "("));
        assert!(bad.expect_err("refused").contains("`expect_regex`"));
        let foreign = input(with_kind("http", "http://h/", "send", "x"));
        assert!(foreign.expect_err("refused").contains("`send`"));
    }

    #[test]
    fn refusals_name_the_field() {
        for (body, field) in [
            (with_kind("tcp", "h:1", "send", ""), "send"),
            // Fields of another kind.
            (
                with_kind("tcp", "h:1", "expect", serde_json::json!([])),
                "expect",
            ),
            (with_kind("tcp", "h:1", "username", "u"), "username"),
        ] {
            let err = input(body.clone()).expect_err("must be refused");
            assert!(err.contains(&format!("`{field}`")), "{body}: {err}");
        }
    }
}
