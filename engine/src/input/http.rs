//! `http` monitors: one request to an `http://` or `https://` URL (`target`).
//!
//! Fields: `method`, `headers`, `body`, `expect_status`, `body_contains`, `body_regex`,
//! `json_path` (+ `json_equals` | `json_contains`), `ca_pem`, `follow_redirects`,
//! `insecure_skip_verify`.

use std::collections::BTreeMap;

use netpulse_protocol::check::{HttpSpec, StatusMatch};
use serde::Deserialize;

use super::shared::check_ca_pem;
use super::InputError;

const HTTP_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Largest request `body`.
const MAX_BODY: usize = 64 * 1024;

/// Longest `body_regex`.
const MAX_BODY_REGEX: usize = 4096;

/// The fields of an `http` monitor beside the common ones.
/// No `Debug`: header values and bodies often carry credentials.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Input {
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
    ca_pem: Option<String>,
}

impl Input {
    /// Checks every field against `target` (the URL) and builds the spec.
    pub(super) fn validate(self, target: &str) -> Result<HttpSpec, InputError> {
        let lower = target.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("http://")
            .or_else(|| lower.strip_prefix("https://"))
            .ok_or_else(|| {
                InputError::invalid_field("target", "must be an http:// or https:// URL")
            })?;
        if rest.is_empty() || rest.starts_with('/') || target.chars().any(char::is_whitespace) {
            return Err(InputError::invalid_field("target", "URL has no host"));
        }
        let method = self.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
        if !HTTP_METHODS.contains(&method.as_str()) {
            return Err(InputError::invalid_field(
                "method",
                format!("must be one of {}", HTTP_METHODS.join(", ")),
            ));
        }
        let mut headers = Vec::new();
        for (k, v) in self.headers.into_iter().flatten() {
            let token = !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !token || v.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                return Err(InputError::invalid_field(
                    "headers",
                    format!("invalid header {k:?}"),
                ));
            }
            headers.push((k, v));
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
                InputError::invalid_field(
                    "expect_status",
                    format!("{v} is not a status code (100-599) or class like \"2xx\""),
                )
            })?);
        }
        if self.body.as_ref().is_some_and(|b| b.len() > MAX_BODY) {
            return Err(InputError::invalid_field("body", "at most 64 KiB"));
        }
        let body_regex = match self.body_regex.filter(|r| !r.is_empty()) {
            Some(r) if r.len() > MAX_BODY_REGEX => {
                return Err(InputError::invalid_field(
                    "body_regex",
                    "at most 4096 characters",
                ))
            }
            Some(r) => match regex::RegexBuilder::new(&r).size_limit(1 << 20).build() {
                Ok(_) => Some(r),
                Err(e) => return Err(InputError::invalid_field("body_regex", e)),
            },
            None => None,
        };
        if let Some(p) = &self.json_path {
            netpulse_protocol::json_path::JsonPath::parse(p)
                .map_err(|e| InputError::invalid_field("json_path", e))?;
        } else if self.json_equals.is_some() || self.json_contains.is_some() {
            let field = if self.json_equals.is_some() {
                "json_equals"
            } else {
                "json_contains"
            };
            return Err(InputError::invalid_field(field, "needs json_path"));
        }
        if self.json_equals.is_some() && self.json_contains.is_some() {
            return Err(InputError::invalid_field(
                "json_contains",
                "give json_equals or json_contains, not both",
            ));
        }
        let ca_pem = self.ca_pem.as_deref().map(check_ca_pem).transpose()?;
        Ok(HttpSpec {
            url: target.to_owned(),
            method,
            headers,
            body: self.body,
            expect_status,
            body_contains: self.body_contains.filter(|s| !s.is_empty()),
            follow_redirects: self.follow_redirects.unwrap_or(true),
            insecure_skip_verify: self.insecure_skip_verify.unwrap_or(false),
            body_regex,
            json_path: self.json_path,
            // Kept as JSON text: a JSON string compares as that string, anything else as JSON.
            json_equals: self.json_equals.as_ref().map(|v| v.to_string()),
            json_contains: self.json_contains,
            ca_pem,
        })
    }
}

#[cfg(test)]
mod tests {
    use netpulse_protocol::check::ProbeSpec;

    use super::super::test_support::{input, with_kind};

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
            (serde_json::json!({"method": "BREW"}), "method"),
        ] {
            let err = base(extra.clone()).expect_err("refused");
            assert!(err.contains(&format!("`{field}`")), "{extra}: {err}");
        }
    }

    #[test]
    fn a_field_of_another_kind_is_refused_by_name() {
        let err = input(with_kind("http", "http://x", "count", 3)).expect_err("refused");
        assert!(
            err.contains(r#"field `count`: not valid for kind "http" (only for "icmp")"#),
            "{err}"
        );
        // A header value is never quoted back, even when the header is refused.
        let err = input(with_kind(
            "http",
            "http://x",
            "headers",
            serde_json::json!({"x-key": "hunter2\n"}),
        ))
        .expect_err("refused");
        assert!(
            err.contains("`headers`") && !err.contains("hunter2"),
            "{err}"
        );
    }
}
