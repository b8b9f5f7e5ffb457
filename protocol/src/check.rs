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
    /// SSH login, optionally running a command.
    Ssh(SshSpec),
    /// SNMP GET/WALK with thresholds and counter rates.
    Snmp(SnmpSpec),
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
            ProbeSpec::Ssh(_) => "ssh",
            ProbeSpec::Snmp(_) => "snmp",
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
    /// The response body (first 1 MiB) must match this regular expression.
    pub body_regex: Option<String>,
    /// A value in a JSON response body, as a [`crate::json_path::JsonPath`].
    pub json_path: Option<String>,
    /// The value at `json_path` must equal this JSON value (text that is not JSON compares as
    /// a string).
    pub json_equals: Option<String>,
    /// The value at `json_path` must contain this: a substring of a string, an element of an
    /// array, a substring of the value's JSON text otherwise.
    pub json_contains: Option<String>,
    /// PEM roots that replace the system roots for this check (private CAs).
    pub ca_pem: Option<String>,
}

impl HttpSpec {
    /// A plain `GET` of `url` that accepts any 2xx, as the API defaults a new HTTP monitor.
    pub fn get(url: impl Into<String>) -> Self {
        HttpSpec {
            url: url.into(),
            method: "GET".into(),
            headers: Vec::new(),
            body: None,
            expect_status: Vec::new(),
            body_contains: None,
            follow_redirects: false,
            insecure_skip_verify: false,
            body_regex: None,
            json_path: None,
            json_equals: None,
            json_contains: None,
            ca_pem: None,
        }
    }
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

/// A TCP connect check, optionally with a payload to send and a banner to expect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpSpec {
    /// Host name or IP literal.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Bytes to send after connecting (`\r\n` and the like are sent as written).
    pub send: Option<String>,
    /// What the peer sends (first 4 KiB, read until it matches or the peer closes) must match.
    pub expect_regex: Option<String>,
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

/// An SSH check: connect, verify the host key, authenticate, optionally run a command.
///
/// `Debug` never shows the secrets in [`SshAuth`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshSpec {
    /// Host name or IP literal.
    pub host: String,
    /// TCP port (22 by default in the API).
    pub port: u16,
    /// User to log in as.
    pub username: String,
    /// How to authenticate.
    pub auth: SshAuth,
    /// Pinned host key, as OpenSSH prints it (`SHA256:<base64 without padding>`); `None` means
    /// trust on first use: any key is accepted and its fingerprint is reported.
    pub host_key_fingerprint: Option<String>,
    /// Command to run after login; its exit status must be 0.
    pub command: Option<String>,
    /// Regular expression the command's output (stdout then stderr) must match.
    pub expect_regex: Option<String>,
    /// Named numbers to extract from the output: `(metric name, regex with one capture group)`.
    pub extract: Vec<(String, String)>,
    /// Also offer old algorithms (SHA-1 key exchanges, CBC ciphers, `hmac-sha1`) for old
    /// network gear.
    pub legacy_algorithms: bool,
}

/// SSH credentials. Its `Debug` output redacts every secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SshAuth {
    /// Password authentication.
    Password(String),
    /// Public key authentication with a private key in OpenSSH (or PEM/PKCS#8) format.
    PrivateKey {
        /// The private key text.
        pem: String,
        /// Passphrase decrypting the key, if it is encrypted.
        passphrase: Option<String>,
    },
    /// Keyboard-interactive authentication, answering every prompt with this password.
    KeyboardInteractive(String),
}

impl SshAuth {
    /// The method's name as in the API (`password`, `private_key`, `keyboard_interactive`).
    pub fn method(&self) -> &'static str {
        match self {
            SshAuth::Password(_) => "password",
            SshAuth::PrivateKey { .. } => "private_key",
            SshAuth::KeyboardInteractive(_) => "keyboard_interactive",
        }
    }
}

impl std::fmt::Debug for SshAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SshAuth::Password(_) => f.write_str("Password(<redacted>)"),
            SshAuth::PrivateKey { passphrase, .. } => f
                .debug_struct("PrivateKey")
                .field("pem", &"<redacted>")
                .field("passphrase", &passphrase.as_ref().map(|_| "<redacted>"))
                .finish(),
            SshAuth::KeyboardInteractive(_) => f.write_str("KeyboardInteractive(<redacted>)"),
        }
    }
}

/// Default of [`SshSpec::port`].
pub const SSH_DEFAULT_PORT: u16 = 22;

/// An SNMP check: GET of chosen objects, WALK of subtrees, thresholds on numeric values and
/// per-second rates of counters between two runs of the same check.
///
/// `Debug` never shows the community or the USM passwords.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnmpSpec {
    /// Host name or IP literal of the agent (IPv6 without brackets).
    pub host: String,
    /// UDP port of the agent, [`SNMP_DEFAULT_PORT`] unless told otherwise.
    pub port: u16,
    /// Protocol version and its credentials.
    pub version: SnmpVersion,
    /// Objects fetched with one GET (dotted numeric OIDs, e.g. `1.3.6.1.2.1.1.5.0`).
    pub oids: Vec<String>,
    /// Subtrees walked (dotted numeric OIDs); every numeric value found becomes a metric.
    pub walk: Vec<String>,
    /// Conditions on numeric values (GET, walked or rate) that make a run degraded or down.
    pub thresholds: Vec<SnmpThreshold>,
    /// Counter objects (dotted numeric OIDs of Counter32/Counter64 instances) whose
    /// per-second rate between two runs is reported as `<oid>_per_s`.
    pub rates: Vec<String>,
}

/// Default of [`SnmpSpec::port`].
pub const SNMP_DEFAULT_PORT: u16 = 161;

/// sysUpTime.0, fetched on every run (reported as `sys_uptime_s`, and used to tell a counter
/// wrap from an agent restart).
pub const SNMP_SYS_UPTIME_OID: &str = "1.3.6.1.2.1.1.3.0";

/// SNMP version with its credentials.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SnmpVersion {
    /// SNMPv2c with a community string (a secret).
    V2c {
        /// The community; never logged or shown.
        community: String,
    },
    /// SNMPv3 with the user-based security model.
    V3 {
        /// USM user name (not secret).
        user: String,
        /// Authentication protocol and password; `None` means noAuthNoPriv.
        auth: Option<(SnmpAuthProtocol, String)>,
        /// Privacy protocol and password; requires `auth`.
        privacy: Option<(SnmpPrivProtocol, String)>,
    },
}

impl std::fmt::Debug for SnmpVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SnmpVersion::V2c { .. } => f
                .debug_struct("V2c")
                .field("community", &"<redacted>")
                .finish(),
            SnmpVersion::V3 {
                user,
                auth,
                privacy,
            } => f
                .debug_struct("V3")
                .field("user", user)
                .field("auth", &auth.as_ref().map(|(p, _)| (p, "<redacted>")))
                .field("privacy", &privacy.as_ref().map(|(p, _)| (p, "<redacted>")))
                .finish(),
        }
    }
}

impl SnmpVersion {
    /// `"v2c"` or `"v3"`, as in the API.
    pub fn as_str(&self) -> &'static str {
        match self {
            SnmpVersion::V2c { .. } => "v2c",
            SnmpVersion::V3 { .. } => "v3",
        }
    }
}

/// SNMPv3 USM authentication protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SnmpAuthProtocol {
    /// HMAC-MD5-96.
    Md5,
    /// HMAC-SHA-96 (SHA-1).
    Sha,
    /// HMAC-SHA-224.
    Sha224,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-384.
    Sha384,
    /// HMAC-SHA-512.
    Sha512,
}

/// Every authentication protocol, in API order.
pub const SNMP_AUTH_PROTOCOLS: [SnmpAuthProtocol; 6] = [
    SnmpAuthProtocol::Md5,
    SnmpAuthProtocol::Sha,
    SnmpAuthProtocol::Sha224,
    SnmpAuthProtocol::Sha256,
    SnmpAuthProtocol::Sha384,
    SnmpAuthProtocol::Sha512,
];

impl SnmpAuthProtocol {
    /// The API name (`"md5"`, `"sha"`, `"sha256"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SnmpAuthProtocol::Md5 => "md5",
            SnmpAuthProtocol::Sha => "sha",
            SnmpAuthProtocol::Sha224 => "sha224",
            SnmpAuthProtocol::Sha256 => "sha256",
            SnmpAuthProtocol::Sha384 => "sha384",
            SnmpAuthProtocol::Sha512 => "sha512",
        }
    }

    /// Parses an API name, case-insensitively (`"sha1"` and `"sha-256"` are accepted too).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase().replace('-', "");
        let s = if s == "sha1" { "sha".to_owned() } else { s };
        SNMP_AUTH_PROTOCOLS.into_iter().find(|p| p.as_str() == s)
    }
}

/// SNMPv3 USM privacy (encryption) protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SnmpPrivProtocol {
    /// DES-CBC (weak; for old gear).
    Des,
    /// AES-128-CFB.
    Aes,
    /// AES-192-CFB (Blumenthal key extension, as net-snmp).
    Aes192,
    /// AES-256-CFB (Blumenthal key extension, as net-snmp).
    Aes256,
}

/// Every privacy protocol, in API order.
pub const SNMP_PRIV_PROTOCOLS: [SnmpPrivProtocol; 4] = [
    SnmpPrivProtocol::Des,
    SnmpPrivProtocol::Aes,
    SnmpPrivProtocol::Aes192,
    SnmpPrivProtocol::Aes256,
];

impl SnmpPrivProtocol {
    /// The API name (`"des"`, `"aes"`, `"aes192"`, `"aes256"`).
    pub fn as_str(self) -> &'static str {
        match self {
            SnmpPrivProtocol::Des => "des",
            SnmpPrivProtocol::Aes => "aes",
            SnmpPrivProtocol::Aes192 => "aes192",
            SnmpPrivProtocol::Aes256 => "aes256",
        }
    }

    /// Parses an API name, case-insensitively (`"aes128"` and `"aes-256"` are accepted too).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase().replace('-', "");
        let s = if s == "aes128" { "aes".to_owned() } else { s };
        SNMP_PRIV_PROTOCOLS.into_iter().find(|p| p.as_str() == s)
    }
}

/// A condition on one numeric value; when it holds, the run is degraded or down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnmpThreshold {
    /// The value's metric name: a dotted numeric OID (GET or walked), or `<oid>_per_s` for a
    /// rate.
    pub oid: String,
    /// How the value is compared with `value`.
    pub op: ThresholdOp,
    /// The threshold.
    pub value: f64,
    /// What a breach makes the run.
    pub severity: ThresholdSeverity,
}

impl SnmpThreshold {
    /// Whether `observed` breaches this threshold.
    pub fn breached_by(&self, observed: f64) -> bool {
        self.op.holds(observed, self.value)
    }
}

/// Comparison operators of a threshold: the threshold is breached when
/// `observed <op> value` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ThresholdOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

/// Every threshold operator, in API order.
pub const THRESHOLD_OPS: [ThresholdOp; 6] = [
    ThresholdOp::Lt,
    ThresholdOp::Le,
    ThresholdOp::Gt,
    ThresholdOp::Ge,
    ThresholdOp::Eq,
    ThresholdOp::Ne,
];

impl ThresholdOp {
    /// The operator as written in the API (`"<"`, `">="`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ThresholdOp::Lt => "<",
            ThresholdOp::Le => "<=",
            ThresholdOp::Gt => ">",
            ThresholdOp::Ge => ">=",
            ThresholdOp::Eq => "==",
            ThresholdOp::Ne => "!=",
        }
    }

    /// Parses `"<"`, `"<="`, `">"`, `">="`, `"=="`, `"!="`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        THRESHOLD_OPS.into_iter().find(|o| o.as_str() == s)
    }

    /// Whether `observed <op> threshold` holds (`==`/`!=` compare exactly; NaN never
    /// breaches an ordering).
    pub fn holds(self, observed: f64, threshold: f64) -> bool {
        match self {
            ThresholdOp::Lt => observed < threshold,
            ThresholdOp::Le => observed <= threshold,
            ThresholdOp::Gt => observed > threshold,
            ThresholdOp::Ge => observed >= threshold,
            ThresholdOp::Eq => observed == threshold,
            ThresholdOp::Ne => observed != threshold,
        }
    }
}

/// What a breached threshold makes a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ThresholdSeverity {
    /// Degraded.
    Degraded,
    /// Down.
    Down,
}

impl ThresholdSeverity {
    /// `"degraded"` or `"down"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ThresholdSeverity::Degraded => "degraded",
            ThresholdSeverity::Down => "down",
        }
    }

    /// Parses `"degraded"` / `"down"`, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "degraded" => Some(ThresholdSeverity::Degraded),
            "down" => Some(ThresholdSeverity::Down),
            _ => None,
        }
    }
}

/// Checks that `s` is a dotted numeric OID (`1.3.6.1.2.1.1.3.0`, a leading dot allowed), with
/// at least two arcs, each fitting 32 bits, the first 0-2 (and the second below 40 when the
/// first is 0 or 1). Returns the OID without the leading dot.
pub fn parse_numeric_oid(s: &str) -> Result<String, String> {
    let t = s.trim();
    let bare = t.strip_prefix('.').unwrap_or(t);
    if bare.is_empty() {
        return Err("empty OID".into());
    }
    let mut arcs = Vec::new();
    for arc in bare.split('.') {
        if arc.is_empty() || !arc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{s:?} is not a dotted numeric OID"));
        }
        let n: u32 = arc
            .parse()
            .map_err(|_| format!("{s:?}: arc {arc} does not fit 32 bits"))?;
        arcs.push(n);
    }
    if arcs.len() < 2 {
        return Err(format!("{s:?}: an OID has at least two arcs"));
    }
    if arcs.len() > 128 {
        return Err(format!("{s:?}: more than 128 arcs"));
    }
    if arcs[0] > 2 || (arcs[0] < 2 && arcs[1] >= 40) {
        return Err(format!("{s:?}: invalid first arcs"));
    }
    Ok(arcs
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_auth_debug_redacts_secrets() {
        let spec = SshSpec {
            host: "h".into(),
            port: 22,
            username: "u".into(),
            auth: SshAuth::PrivateKey {
                pem: "KEYMATERIAL".into(),
                passphrase: Some("PASSPHRASE".into()),
            },
            host_key_fingerprint: None,
            command: None,
            expect_regex: None,
            extract: Vec::new(),
            legacy_algorithms: false,
        };
        let shown = format!("{spec:?}");
        assert!(
            !shown.contains("KEYMATERIAL") && !shown.contains("PASSPHRASE"),
            "{shown}"
        );
        for auth in [
            SshAuth::Password("hunter2".into()),
            SshAuth::KeyboardInteractive("hunter2".into()),
        ] {
            assert!(!format!("{auth:?}").contains("hunter2"));
        }
    }

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

#[cfg(test)]
mod snmp_tests {
    use super::*;

    #[test]
    fn numeric_oids_parse() {
        assert_eq!(
            parse_numeric_oid(".1.3.6.1.2.1.1.3.0").as_deref(),
            Ok("1.3.6.1.2.1.1.3.0")
        );
        assert_eq!(parse_numeric_oid(" 1.3.6 ").as_deref(), Ok("1.3.6"));
        assert_eq!(parse_numeric_oid("1.3.06").as_deref(), Ok("1.3.6"));
        for bad in [
            "",
            ".",
            "1",
            "1..3",
            "1.3.",
            "sysUpTime.0",
            "1.3.x",
            "3.1",
            "1.40",
            "1.3.4294967296",
            "1.3.-1",
        ] {
            assert!(parse_numeric_oid(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn threshold_ops() {
        for op in THRESHOLD_OPS {
            assert_eq!(ThresholdOp::parse(op.as_str()), Some(op));
        }
        assert_eq!(ThresholdOp::parse("=>"), None);
        assert!(ThresholdOp::Lt.holds(1.0, 2.0));
        assert!(!ThresholdOp::Lt.holds(2.0, 2.0));
        assert!(ThresholdOp::Le.holds(2.0, 2.0));
        assert!(ThresholdOp::Gt.holds(3.0, 2.0));
        assert!(!ThresholdOp::Ge.holds(1.0, 2.0));
        assert!(ThresholdOp::Eq.holds(2.0, 2.0));
        assert!(ThresholdOp::Ne.holds(2.5, 2.0));
        assert!(!ThresholdOp::Gt.holds(f64::NAN, 2.0));
        let t = SnmpThreshold {
            oid: "1.3.6.1.2.1.1.3.0".into(),
            op: ThresholdOp::Ge,
            value: 10.0,
            severity: ThresholdSeverity::Down,
        };
        assert!(t.breached_by(10.0));
        assert!(!t.breached_by(9.9));
        assert_eq!(
            ThresholdSeverity::parse("Degraded"),
            Some(ThresholdSeverity::Degraded)
        );
        assert_eq!(ThresholdSeverity::parse("up"), None);
    }

    #[test]
    fn usm_protocols_parse() {
        for p in SNMP_AUTH_PROTOCOLS {
            assert_eq!(SnmpAuthProtocol::parse(p.as_str()), Some(p));
        }
        assert_eq!(SnmpAuthProtocol::parse("SHA1"), Some(SnmpAuthProtocol::Sha));
        assert_eq!(
            SnmpAuthProtocol::parse("sha-256"),
            Some(SnmpAuthProtocol::Sha256)
        );
        assert_eq!(SnmpAuthProtocol::parse("sha3"), None);
        for p in SNMP_PRIV_PROTOCOLS {
            assert_eq!(SnmpPrivProtocol::parse(p.as_str()), Some(p));
        }
        assert_eq!(
            SnmpPrivProtocol::parse("AES128"),
            Some(SnmpPrivProtocol::Aes)
        );
        assert_eq!(SnmpPrivProtocol::parse("3des"), None);
    }

    #[test]
    fn snmp_spec_round_trips_postcard() {
        let spec = ProbeSpec::Snmp(SnmpSpec {
            host: "::1".into(),
            port: SNMP_DEFAULT_PORT,
            version: SnmpVersion::V3 {
                user: "mon".into(),
                auth: Some((SnmpAuthProtocol::Sha512, "authpass-1".into())),
                privacy: Some((SnmpPrivProtocol::Aes256, "privpass-1".into())),
            },
            oids: vec![SNMP_SYS_UPTIME_OID.into()],
            walk: vec!["1.3.6.1.2.1.2".into()],
            thresholds: vec![SnmpThreshold {
                oid: "1.3.6.1.2.1.2.2.1.10.1_per_s".into(),
                op: ThresholdOp::Ne,
                value: 0.5,
                severity: ThresholdSeverity::Degraded,
            }],
            rates: vec!["1.3.6.1.2.1.2.2.1.10.1".into()],
        });
        let bytes = postcard::to_allocvec(&spec).expect("encode");
        let back: ProbeSpec = postcard::from_bytes(&bytes).expect("decode");
        assert_eq!(back, spec);
        assert_eq!(back.kind(), "snmp");
    }

    #[test]
    fn snmp_debug_redacts_secrets() {
        let v2 = SnmpVersion::V2c {
            community: "s3cret-community".into(),
        };
        assert!(!format!("{v2:?}").contains("s3cret"));
        let v3 = SnmpVersion::V3 {
            user: "mon".into(),
            auth: Some((SnmpAuthProtocol::Sha256, "authpass-secret".into())),
            privacy: Some((SnmpPrivProtocol::Aes, "privpass-secret".into())),
        };
        let dbg = format!("{v3:?}");
        assert!(dbg.contains("mon") && dbg.contains("Sha256"), "{dbg}");
        assert!(!dbg.contains("secret"), "{dbg}");
    }
}
