//! `ssh` monitors: a login to `target` (`host[:port]`, port 22 by default), optionally running
//! a command and checking or extracting numbers from its output.
//!
//! Fields: `username`, one of `password` / `private_key` (+ `private_key_passphrase`) /
//! `keyboard_interactive_password`, `host_key_fingerprint`, `command`, `expect_regex`,
//! `extract`, `legacy_algorithms`. Credentials are secrets: no refusal quotes them.

use std::collections::BTreeMap;

use netpulse_protocol::check::{normalize_dns_name, SshAuth, SshSpec, TcpSpec, SSH_DEFAULT_PORT};
use serde::Deserialize;

use super::shared::{check_regex, parse_host_port};
use super::InputError;

/// Most `extract` entries per SSH monitor.
const MAX_SSH_EXTRACT: usize = 32;

/// Largest `private_key`.
const MAX_PRIVATE_KEY: usize = 16 * 1024;

/// Metric names the SSH probe sets itself; `extract` may not reuse them.
const SSH_BUILTIN_METRICS: [&str; 5] =
    ["dns_ms", "connect_ms", "auth_ms", "total_ms", "exit_status"];

/// The fields of an `ssh` monitor beside the common ones.
/// No `Debug`: it holds credentials as submitted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Input {
    username: Option<String>,
    password: Option<String>,
    private_key: Option<String>,
    private_key_passphrase: Option<String>,
    keyboard_interactive_password: Option<String>,
    host_key_fingerprint: Option<String>,
    command: Option<String>,
    expect_regex: Option<String>,
    extract: Option<BTreeMap<String, String>>,
    legacy_algorithms: Option<bool>,
}

impl Input {
    /// Checks every field against `target` and builds the spec.
    pub(super) fn validate(self, target: &str) -> Result<SshSpec, InputError> {
        let (host, port) = parse_ssh_target(target)?;
        let username = self
            .username
            .as_deref()
            .ok_or_else(|| InputError::invalid_field("username", "is required for kind \"ssh\""))?;
        if username.is_empty() || username.len() > 256 || username.chars().any(|c| c.is_control()) {
            return Err(InputError::invalid_field(
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
            return Err(InputError::invalid_field(
                "password",
                "one of password, private_key or keyboard_interactive_password is required",
            ));
        };
        if let Some(second) = given.next() {
            return Err(InputError::invalid_field(
                second,
                "give only one of password, private_key and keyboard_interactive_password",
            ));
        }
        if self.private_key_passphrase.is_some() && self.private_key.is_none() {
            return Err(InputError::invalid_field(
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
                return Err(InputError::invalid_field(
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
                InputError::invalid_field(
                    "host_key_fingerprint",
                    "must be a SHA-256 fingerprint as OpenSSH prints it (\"SHA256:\" and 43 base64 characters)",
                )
            })?),
        };
        let command = match &self.command {
            None => None,
            Some(c) if c.trim().is_empty() || c.len() > 4096 || c.contains('\0') => {
                return Err(InputError::invalid_field(
                    "command",
                    "must be 1 to 4096 characters without NUL",
                ))
            }
            Some(c) => Some(c.clone()),
        };
        if let Some(re) = &self.expect_regex {
            check_regex("expect_regex", re, None)?;
            if command.is_none() {
                return Err(InputError::invalid_field(
                    "expect_regex",
                    "needs a command whose output it is matched against",
                ));
            }
        }
        let mut extract = Vec::new();
        if let Some(map) = &self.extract {
            if command.is_none() && !map.is_empty() {
                return Err(InputError::invalid_field(
                    "extract",
                    "needs a command whose output numbers are extracted from",
                ));
            }
            if map.len() > MAX_SSH_EXTRACT {
                return Err(InputError::invalid_field(
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
                    return Err(InputError::invalid_field(
                        "extract",
                        format!("{name:?} is not a metric name ([a-z0-9_], 1-64 characters)"),
                    ));
                }
                if SSH_BUILTIN_METRICS.contains(&name.as_str()) {
                    return Err(InputError::invalid_field(
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
            expect_regex: self.expect_regex,
            extract,
            legacy_algorithms: self.legacy_algorithms.unwrap_or(false),
        })
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; the port defaults to 22.
fn parse_ssh_target(target: &str) -> Result<(String, u16), InputError> {
    let bad = || {
        InputError::invalid_field(
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
    use netpulse_protocol::check::ProbeSpec;

    use super::super::test_support::{input, with_kind};
    use super::*;

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
}
