//! What an edge node is asked to check: the probe configuration carried in assignments.

use serde::{Deserialize, Serialize};

/// A monitor as the edge node sees it: enough to schedule and run it, nothing about alerting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckSpec {
    /// The coordinator's monitor id; results carry it back.
    pub monitor_id: String,
    /// Bumped on every change, so a node can tell a changed check from an unchanged one.
    pub revision: u64,
    /// Time between two starts of the check.
    pub interval_ms: u64,
    /// Upper bound for one run, enforced around the whole probe.
    pub timeout_ms: u64,
    /// What to probe and how.
    pub probe: ProbeSpec,
}

/// Probe configuration, one variant per probe kind. New kinds are appended (postcard encodes
/// the variant index), never inserted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProbeSpec {
    /// HTTP or HTTPS request.
    Http(HttpSpec),
    /// TCP connect.
    Tcp(TcpSpec),
}

impl ProbeSpec {
    /// The kind name used in the API and configuration.
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeSpec::Http(_) => "http",
            ProbeSpec::Tcp(_) => "tcp",
        }
    }
}

/// An HTTP(S) check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpSpec {
    /// Absolute `http://` or `https://` URL.
    pub url: String,
    /// Request method, upper case.
    pub method: String,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// Request body, if any.
    pub body: Option<String>,
    /// Accepted status codes; empty means any 2xx.
    pub expect_status: Vec<StatusMatch>,
    /// The response body must contain this text.
    pub body_contains: Option<String>,
    /// Follow up to 10 redirects instead of judging the redirect response itself.
    pub follow_redirects: bool,
    /// Accept any server certificate (self-signed lab gear); the check still reports TLS use.
    pub insecure_skip_verify: bool,
}

/// One accepted status: an exact code or a class such as `2xx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusMatch {
    /// Exactly this code.
    Code(u16),
    /// Any code in `class*100 ..= class*100+99`.
    Class(u8),
}

impl StatusMatch {
    /// Whether `status` is accepted by this matcher.
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusMatch::Code(c) => c == status,
            StatusMatch::Class(c) => status / 100 == u16::from(c),
        }
    }

    /// Parses `"200"` or `"2xx"`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Some(class) = s.strip_suffix("xx").or_else(|| s.strip_suffix("XX")) {
            return match class.parse::<u8>() {
                Ok(c @ 1..=5) => Some(StatusMatch::Class(c)),
                _ => None,
            };
        }
        match s.parse::<u16>() {
            Ok(c @ 100..=599) => Some(StatusMatch::Code(c)),
            _ => None,
        }
    }
}

impl std::fmt::Display for StatusMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusMatch::Code(c) => write!(f, "{c}"),
            StatusMatch::Class(c) => write!(f, "{c}xx"),
        }
    }
}

/// A TCP connect check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpSpec {
    /// Host name or IP literal.
    pub host: String,
    /// TCP port.
    pub port: u16,
}
