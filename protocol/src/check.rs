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
    /// DNS query against a chosen or the system nameserver.
    Dns(DnsSpec),
    /// TLS handshake and certificate checks.
    Tls(TlsSpec),
    /// ICMP echo (ping).
    Icmp(IcmpSpec),
}

impl ProbeSpec {
    /// The kind name used in the API and configuration.
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeSpec::Http(_) => "http",
            ProbeSpec::Tcp(_) => "tcp",
            ProbeSpec::Dns(_) => "dns",
            ProbeSpec::Tls(_) => "tls",
            ProbeSpec::Icmp(_) => "icmp",
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

/// A host and port, for peers that are not the probe's target itself (a DNS nameserver).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// UDP/TCP port.
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A DNS check: one query, judged on the response code and the answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsSpec {
    /// The name to query.
    pub name: String,
    /// The record type to ask for.
    pub record_type: DnsRecordType,
    /// Nameserver to ask; `None` means the node's system resolver (first `nameserver` of
    /// `/etc/resolv.conf`).
    pub nameserver: Option<Endpoint>,
    /// Answers that must all be present, normalized with [`DnsRecordType::normalize_answer`].
    pub expect: Vec<String>,
    /// The response code the query must return (0 = NOERROR, 3 = NXDOMAIN; see [`rcode_name`]).
    pub expect_rcode: u16,
}

/// Record types a DNS check can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DnsRecordType {
    /// IPv4 address.
    A,
    /// IPv6 address.
    Aaaa,
    /// Alias.
    Cname,
    /// Mail exchanger.
    Mx,
    /// Text.
    Txt,
    /// Delegation.
    Ns,
    /// Start of authority.
    Soa,
    /// Service locator.
    Srv,
    /// Certification authority authorization.
    Caa,
}

/// Every supported record type, in API order.
pub const DNS_RECORD_TYPES: [DnsRecordType; 9] = [
    DnsRecordType::A,
    DnsRecordType::Aaaa,
    DnsRecordType::Cname,
    DnsRecordType::Mx,
    DnsRecordType::Txt,
    DnsRecordType::Ns,
    DnsRecordType::Soa,
    DnsRecordType::Srv,
    DnsRecordType::Caa,
];

impl DnsRecordType {
    /// The name used in the API (`"A"`, `"AAAA"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            DnsRecordType::A => "A",
            DnsRecordType::Aaaa => "AAAA",
            DnsRecordType::Cname => "CNAME",
            DnsRecordType::Mx => "MX",
            DnsRecordType::Txt => "TXT",
            DnsRecordType::Ns => "NS",
            DnsRecordType::Soa => "SOA",
            DnsRecordType::Srv => "SRV",
            DnsRecordType::Caa => "CAA",
        }
    }

    /// Parses a type name, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        DNS_RECORD_TYPES
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }

    /// Brings an answer, as an operator writes it or as a probe formats it, to the one text
    /// form both are compared in, so `"Mail.Example.org."` and `"mail.example.org"` match:
    ///
    /// - names (CNAME, NS, and the names inside MX, SRV, SOA): lower case, no trailing dot;
    ///   internationalized names in their `xn--` form;
    /// - A, AAAA: the address in canonical form (`2001:db8::1`);
    /// - MX: `"<preference> <exchange>"`; SRV: `"<priority> <weight> <port> <target>"`;
    /// - SOA: `"<mname> <rname> <serial> <refresh> <retry> <expire> <minimum>"`;
    /// - TXT: the character strings of the record joined without separator, case kept;
    /// - CAA: `"<flags> <tag> <value>"`, tag lower case, value case kept, quotes removed.
    ///
    /// Fields are separated by single spaces. Returns why the text is not a valid answer of
    /// this type.
    pub fn normalize_answer(self, answer: &str) -> Result<String, String> {
        let text = answer.trim();
        if text.is_empty() {
            return Err("empty answer".into());
        }
        let fields: Vec<&str> = text.split_whitespace().collect();
        let want = |n: usize, shape: &str| -> Result<(), String> {
            if fields.len() == n {
                Ok(())
            } else {
                Err(format!(
                    "{text:?} is not a {} answer ({shape})",
                    self.as_str()
                ))
            }
        };
        let num = |s: &str, what: &str| -> Result<u64, String> {
            s.parse::<u64>()
                .map_err(|_| format!("{what} {s:?} is not a number"))
        };
        match self {
            DnsRecordType::A => text
                .parse::<std::net::Ipv4Addr>()
                .map(|a| a.to_string())
                .map_err(|_| format!("{text:?} is not an IPv4 address")),
            DnsRecordType::Aaaa => text
                .parse::<std::net::Ipv6Addr>()
                .map(|a| a.to_string())
                .map_err(|_| format!("{text:?} is not an IPv6 address")),
            DnsRecordType::Cname | DnsRecordType::Ns => {
                want(1, "a name")?;
                normalize_dns_name(fields[0])
            }
            DnsRecordType::Mx => {
                want(2, "\"<preference> <exchange>\"")?;
                let pref = num(fields[0], "preference")?;
                if pref > u64::from(u16::MAX) {
                    return Err(format!("preference {pref} is above 65535"));
                }
                Ok(format!("{pref} {}", normalize_dns_name(fields[1])?))
            }
            DnsRecordType::Srv => {
                want(4, "\"<priority> <weight> <port> <target>\"")?;
                let mut out = String::new();
                for (f, what) in fields[..3].iter().zip(["priority", "weight", "port"]) {
                    let n = num(f, what)?;
                    if n > u64::from(u16::MAX) {
                        return Err(format!("{what} {n} is above 65535"));
                    }
                    out.push_str(&n.to_string());
                    out.push(' ');
                }
                out.push_str(&normalize_dns_name(fields[3])?);
                Ok(out)
            }
            DnsRecordType::Soa => {
                want(
                    7,
                    "\"<mname> <rname> <serial> <refresh> <retry> <expire> <minimum>\"",
                )?;
                let mut out = vec![
                    normalize_dns_name(fields[0])?,
                    normalize_dns_name(fields[1])?,
                ];
                for (f, what) in fields[2..]
                    .iter()
                    .zip(["serial", "refresh", "retry", "expire", "minimum"])
                {
                    let n = num(f, what)?;
                    if n > u64::from(u32::MAX) {
                        return Err(format!("{what} {n} is above 4294967295"));
                    }
                    out.push(n.to_string());
                }
                Ok(out.join(" "))
            }
            DnsRecordType::Txt => Ok(text.to_owned()),
            DnsRecordType::Caa => {
                let mut parts = text.splitn(3, char::is_whitespace);
                let (Some(flags), Some(tag), Some(value)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(format!(
                        "{text:?} is not a CAA answer (\"<flags> <tag> <value>\")"
                    ));
                };
                let flags = num(flags, "flags")?;
                if flags > 255 {
                    return Err(format!("flags {flags} is above 255"));
                }
                let tag = tag.to_ascii_lowercase();
                if tag.is_empty() || !tag.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(format!("CAA tag {tag:?} is not alphanumeric"));
                }
                let value = value.trim();
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value);
                Ok(format!("{flags} {tag} {value}"))
            }
        }
    }
}

/// Lower case, without the trailing dot (the root itself stays `"."`); refuses what cannot be a
/// DNS name in presentation form.
pub fn normalize_dns_name(name: &str) -> Result<String, String> {
    let trimmed = name.trim();
    if trimmed == "." {
        return Ok(".".into());
    }
    let bare = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if bare.is_empty() || bare.len() > 253 {
        return Err(format!("{name:?} is not a DNS name (1 to 253 characters)"));
    }
    if !bare.is_ascii() {
        return Err(format!(
            "{name:?}: write internationalized names in their xn-- form"
        ));
    }
    for label in bare.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("{name:?} has an empty or over-long (>63) label"));
        }
        if label
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(format!(
                "{name:?} contains whitespace or control characters"
            ));
        }
    }
    Ok(bare.to_ascii_lowercase())
}

/// DNS response codes by name (RFC 1035, 2136), as accepted for `expect_rcode`.
const RCODE_NAMES: [(&str, u16); 11] = [
    ("NOERROR", 0),
    ("FORMERR", 1),
    ("SERVFAIL", 2),
    ("NXDOMAIN", 3),
    ("NOTIMP", 4),
    ("REFUSED", 5),
    ("YXDOMAIN", 6),
    ("YXRRSET", 7),
    ("NXRRSET", 8),
    ("NOTAUTH", 9),
    ("NOTZONE", 10),
];

/// The name of a response code (`0` -> `"NOERROR"`), or `None` for codes without one here.
pub fn rcode_name(rcode: u16) -> Option<&'static str> {
    RCODE_NAMES
        .iter()
        .find(|(_, c)| *c == rcode)
        .map(|(n, _)| *n)
}

/// Parses a response code name (`"NXDOMAIN"`, case-insensitive) or number (`"3"`, 0-4095).
pub fn parse_rcode(s: &str) -> Option<u16> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u16>() {
        return (n <= 4095).then_some(n);
    }
    RCODE_NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|(_, c)| *c)
}

/// A response code as text: its name when it has one, else the number.
pub fn rcode_text(rcode: u16) -> String {
    rcode_name(rcode).map_or_else(|| rcode.to_string(), str::to_owned)
}

/// A TLS check: handshake, chain and hostname verification, expiry thresholds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsSpec {
    /// Host name or IP literal to connect to.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Name sent as SNI and verified against the certificate; `None` means `host`.
    pub server_name: Option<String>,
    /// Fewer days than this before the first certificate of the chain expires: degraded.
    pub warn_days: u32,
    /// Fewer days than this: down.
    pub critical_days: u32,
    /// PEM bundle of trusted roots replacing the system roots.
    pub ca_pem: Option<String>,
    /// Lowest protocol version accepted.
    pub min_version: TlsVersion,
}

/// Default of [`TlsSpec::warn_days`].
pub const TLS_DEFAULT_WARN_DAYS: u32 = 14;
/// Default of [`TlsSpec::critical_days`].
pub const TLS_DEFAULT_CRITICAL_DAYS: u32 = 3;

/// TLS protocol versions a check can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl TlsVersion {
    /// `"1.2"` or `"1.3"`, as in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "1.2",
            TlsVersion::Tls13 => "1.3",
        }
    }

    /// Parses `"1.2"` / `"1.3"` (also `"TLS1.3"`, `"tlsv1.3"`).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        let s = s.strip_prefix("tls").unwrap_or(&s);
        let s = s.strip_prefix('v').unwrap_or(s);
        match s {
            "1.2" => Some(TlsVersion::Tls12),
            "1.3" => Some(TlsVersion::Tls13),
            _ => None,
        }
    }
}

/// An ICMP echo check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IcmpSpec {
    /// Host name or IP literal (IPv4 or IPv6).
    pub host: String,
    /// Echo requests per run, [`ICMP_MIN_COUNT`]..=[`ICMP_MAX_COUNT`].
    pub count: u8,
    /// Payload bytes per echo request, at most [`ICMP_MAX_PACKET_SIZE`].
    pub packet_size: u16,
}

/// Default of [`IcmpSpec::count`].
pub const ICMP_DEFAULT_COUNT: u8 = 3;
/// Fewest echo requests per run.
pub const ICMP_MIN_COUNT: u8 = 1;
/// Most echo requests per run: keeps one check's traffic and duration small.
pub const ICMP_MAX_COUNT: u8 = 20;
/// Default of [`IcmpSpec::packet_size`] (as `ping`).
pub const ICMP_DEFAULT_PACKET_SIZE: u16 = 56;
/// Largest payload that fits a 1500-byte Ethernet MTU without fragmentation (IPv4).
pub const ICMP_MAX_PACKET_SIZE: u16 = 1472;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_types_round_trip() {
        for t in DNS_RECORD_TYPES {
            assert_eq!(DnsRecordType::parse(t.as_str()), Some(t));
            assert_eq!(DnsRecordType::parse(&t.as_str().to_lowercase()), Some(t));
        }
        assert_eq!(DnsRecordType::parse("PTR"), None);
    }

    #[test]
    fn answers_normalize() {
        use DnsRecordType::*;
        let ok = [
            (A, " 192.0.2.1 ", "192.0.2.1"),
            (Aaaa, "2001:DB8:0:0::1", "2001:db8::1"),
            (Cname, "Host.Example.ORG.", "host.example.org"),
            (Ns, "ns1.example.org", "ns1.example.org"),
            (Mx, "10   Mail.Example.org.", "10 mail.example.org"),
            (Srv, "0 5 5060 SIP.example.org.", "0 5 5060 sip.example.org"),
            (
                Soa,
                "NS1.example.org. hostmaster.example.org. 2026 3600 600 86400 300",
                "ns1.example.org hostmaster.example.org 2026 3600 600 86400 300",
            ),
            (Txt, "v=spf1 -all", "v=spf1 -all"),
            (
                Caa,
                "0 ISSUE \"letsencrypt.org\"",
                "0 issue letsencrypt.org",
            ),
            (
                Caa,
                "128 iodef mailto:Sec@example.org",
                "128 iodef mailto:Sec@example.org",
            ),
            (Ns, ".", "."),
        ];
        for (t, input, want) in ok {
            assert_eq!(
                t.normalize_answer(input).as_deref(),
                Ok(want),
                "{t:?} {input:?}"
            );
        }
        let bad = [
            (A, "2001:db8::1"),
            (Aaaa, "192.0.2.1"),
            (Mx, "mail.example.org"),
            (Mx, "70000 mail.example.org"),
            (Srv, "1 2 mail"),
            (Soa, "a b 1 2 3 4"),
            (Caa, "0 issue"),
            (Caa, "300 issue x"),
            (Cname, "two names"),
            (Cname, "bücher.example"),
            (Cname, "a..b"),
            (Txt, "   "),
        ];
        for (t, input) in bad {
            assert!(t.normalize_answer(input).is_err(), "{t:?} {input:?}");
        }
    }

    #[test]
    fn rcodes() {
        assert_eq!(parse_rcode("nxdomain"), Some(3));
        assert_eq!(parse_rcode("NOERROR"), Some(0));
        assert_eq!(parse_rcode("5"), Some(5));
        assert_eq!(parse_rcode("4096"), None);
        assert_eq!(parse_rcode("NOPE"), None);
        assert_eq!(rcode_text(2), "SERVFAIL");
        assert_eq!(rcode_text(23), "23");
    }

    #[test]
    fn tls_versions() {
        assert_eq!(TlsVersion::parse("1.3"), Some(TlsVersion::Tls13));
        assert_eq!(TlsVersion::parse("TLSv1.2"), Some(TlsVersion::Tls12));
        assert_eq!(TlsVersion::parse("1.1"), None);
        assert!(TlsVersion::Tls12 < TlsVersion::Tls13);
    }

    #[test]
    fn endpoint_display_brackets_v6() {
        let v6 = Endpoint {
            host: "::1".into(),
            port: 53,
        };
        assert_eq!(v6.to_string(), "[::1]:53");
        let v4 = Endpoint {
            host: "127.0.0.1".into(),
            port: 5353,
        };
        assert_eq!(v4.to_string(), "127.0.0.1:5353");
    }
}
