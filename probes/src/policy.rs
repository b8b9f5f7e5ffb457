//! The target policy: which addresses a probe of this node may connect to.
//!
//! A monitor names a host; the node resolves it and connects. Without a policy any editor of a
//! monitor could point it at whatever the node can reach, including the cloud metadata
//! service of the machine it runs on (`169.254.169.254`), and read the answers back through
//! assertions and `detail`. The policy is judged on the *address* about to be connected to,
//! after name resolution and on every redirect hop, so neither a name that resolves to a
//! forbidden address (DNS rebinding) nor a redirect can get around it.
//!
//! [`TargetPolicy`] is pure: no I/O, no clock. The probes call [`TargetPolicy::check`] on every
//! address right before connecting to it (`net.rs`, and the UDP/ICMP kinds).
//!
//! # Rules
//! A [`TargetRule`] is a network (`10.0.0.0/8`, `fd00::/8`, or a bare address meaning `/32` or
//! `/128`) with an optional port or port range: `10.0.0.0/8:443`, `10.0.0.0/8:8000-8999`,
//! `[fd00::/8]:443`, `192.0.2.7:22`. A rule with a port matches only connections to those
//! ports; ICMP has no port and is matched only by rules without one.
//!
//! # Precedence
//! For an address (an IPv4-mapped IPv6 address, `::ffff:a.b.c.d`, is judged as `a.b.c.d`):
//! 1. a matching **deny** rule refuses it;
//! 2. else, if it is in a **default-denied** network ([`DEFAULT_DENY`]: link-local and cloud
//!    metadata addresses), it is refused unless an **allow** rule matches it *and* is at least
//!    as specific as the most specific default network it is in (a prefix at least as long):
//!    `--allow-target 169.254.10.0/24` opens that /24 of link-local, `--allow-target 0.0.0.0/0`
//!    opens nothing of it, and the metadata address `169.254.169.254` needs a rule naming it
//!    (`/32`) because it is a /32 default inside the /16 one;
//! 3. else, with no allow rule at all, it is permitted;
//! 4. else it is permitted only if an allow rule matches it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

/// The networks refused unless an allow rule names them exactly (see the module docs), with
/// the reason shown in a refusal.
pub const DEFAULT_DENY: &[(&str, &str)] = &[
    ("169.254.0.0/16", "link-local"),
    ("fe80::/10", "link-local"),
    ("169.254.169.254/32", "cloud metadata"),
    ("fd00:ec2::254/128", "cloud metadata"),
    ("100.100.100.200/32", "cloud metadata"),
];

/// A network with an optional port range: one entry of an allow or deny list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TargetRule {
    /// The network address, host bits zero; IPv4-mapped IPv6 networks are stored as IPv4.
    addr: IpAddr,
    /// Prefix length (0..=32 for IPv4, 0..=128 for IPv6).
    prefix: u8,
    /// Inclusive port range; `None` for every port (and ICMP).
    ports: Option<(u16, u16)>,
}

/// Why a rule does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid target rule {rule:?}: {reason} (expected CIDR[:PORT[-PORT]], e.g. 10.0.0.0/8:443 or [fd00::/8]:8000-8999)")]
pub struct TargetRuleError {
    /// The rule as written.
    pub rule: String,
    /// What is wrong with it.
    pub reason: String,
}

impl TargetRule {
    /// The network part as written in a rule (`10.0.0.0/8`).
    pub fn network(&self) -> String {
        format!("{}/{}", self.addr, self.prefix)
    }

    /// Whether `ip` (already normalized) and `port` fall under this rule. Port 0 (ICMP)
    /// matches only rules without ports.
    fn matches(&self, ip: IpAddr, port: u16) -> bool {
        if let Some((lo, hi)) = self.ports {
            if port < lo || port > hi {
                return false;
            }
        }
        in_network(ip, self.addr, self.prefix)
    }
}

impl fmt::Display for TargetRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let net = self.network();
        match (self.ports, self.addr) {
            (None, _) => f.write_str(&net),
            (Some(ports), IpAddr::V4(_)) => write!(f, "{net}:{}", Ports(ports)),
            (Some(ports), IpAddr::V6(_)) => write!(f, "[{net}]:{}", Ports(ports)),
        }
    }
}

struct Ports((u16, u16));

impl fmt::Display for Ports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (lo, hi) = self.0;
        if lo == hi {
            write!(f, "{lo}")
        } else {
            write!(f, "{lo}-{hi}")
        }
    }
}

impl FromStr for TargetRule {
    type Err = TargetRuleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| TargetRuleError {
            rule: s.to_owned(),
            reason: reason.to_owned(),
        };
        let text = s.trim();
        if text.is_empty() {
            return Err(fail("empty rule"));
        }
        // Split off the ports: `[net]:ports`, `v4net:ports`, `v6/len:ports`.
        let (net, ports) = if let Some(rest) = text.strip_prefix('[') {
            let (net, after) = rest.split_once(']').ok_or_else(|| fail("unclosed '['"))?;
            match after {
                "" => (net, None),
                _ => (
                    net,
                    Some(
                        after
                            .strip_prefix(':')
                            .ok_or_else(|| fail("expected ':' after ']'"))?,
                    ),
                ),
            }
        } else if let Some((addr, len_and_ports)) = text.split_once('/') {
            match len_and_ports.split_once(':') {
                Some((len, ports)) => (&text[..addr.len() + 1 + len.len()], Some(ports)),
                None => (text, None),
            }
        } else if text.parse::<IpAddr>().is_ok() {
            (text, None)
        } else {
            match text.rsplit_once(':') {
                Some((addr, ports)) if !addr.contains(':') => (addr, Some(ports)),
                _ => (text, None),
            }
        };
        let (addr, prefix) = match net.split_once('/') {
            Some((addr, len)) => {
                let addr: IpAddr = addr
                    .parse()
                    .map_err(|_| fail(&format!("{addr:?} is not an IP address")))?;
                let len: u8 = len
                    .parse()
                    .map_err(|_| fail(&format!("{len:?} is not a prefix length")))?;
                (addr, len)
            }
            None => {
                let addr: IpAddr = net
                    .parse()
                    .map_err(|_| fail(&format!("{net:?} is not an IP address or network")))?;
                (addr, max_prefix(addr))
            }
        };
        if prefix > max_prefix(addr) {
            return Err(fail(&format!(
                "prefix length {prefix} is longer than {}",
                max_prefix(addr)
            )));
        }
        let masked = mask(addr, prefix);
        if masked != addr {
            return Err(fail(&format!(
                "host bits set after the prefix; did you mean {masked}/{prefix}?"
            )));
        }
        let (addr, prefix) = match addr {
            IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => (IpAddr::V4(v4), prefix - 96),
                None => (addr, prefix),
            },
            _ => (addr, prefix),
        };
        let ports = match ports {
            None => None,
            Some(p) => {
                let port = |t: &str| -> Result<u16, TargetRuleError> {
                    match t.parse::<u16>() {
                        Ok(0) | Err(_) => Err(fail(&format!("{t:?} is not a port (1-65535)"))),
                        Ok(n) => Ok(n),
                    }
                };
                let (lo, hi) = match p.split_once('-') {
                    Some((lo, hi)) => (port(lo)?, port(hi)?),
                    None => (port(p)?, port(p)?),
                };
                if lo > hi {
                    return Err(fail(&format!("port range {lo}-{hi} is backwards")));
                }
                Some((lo, hi))
            }
        };
        Ok(Self {
            addr,
            prefix,
            ports,
        })
    }
}

/// What a node's probes may connect to: allow and deny lists on top of [`DEFAULT_DENY`].
///
/// `TargetPolicy::default()` is the defaults alone: everything but link-local and cloud
/// metadata addresses is permitted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    allow: Vec<TargetRule>,
    deny: Vec<TargetRule>,
}

/// Why an address was refused: the address and the rule that refused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The address that was about to be connected to.
    pub addr: SocketAddr,
    /// The deciding rule as shown to operators: `deny 169.254.0.0/16 (link-local, default)`,
    /// `deny 10.0.0.0/8 (--deny-target)`, `not in the allow list (--allow-target)`.
    pub rule: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // ICMP is checked with port 0: show the bare address then.
        if self.addr.port() == 0 {
            write!(f, "target policy refuses {}: {}", self.addr.ip(), self.rule)
        } else {
            write!(f, "target policy refuses {}: {}", self.addr, self.rule)
        }
    }
}

impl TargetPolicy {
    /// A policy with these allow and deny rules on top of the defaults.
    pub fn new(allow: Vec<TargetRule>, deny: Vec<TargetRule>) -> Self {
        Self { allow, deny }
    }

    /// Parses the rules as written on the command line (`--allow-target`, `--deny-target`).
    pub fn parse<A, D>(allow: A, deny: D) -> Result<Self, TargetRuleError>
    where
        A: IntoIterator,
        A::Item: AsRef<str>,
        D: IntoIterator,
        D::Item: AsRef<str>,
    {
        let parse_all = |rules: Vec<String>| -> Result<Vec<TargetRule>, TargetRuleError> {
            rules.iter().map(|r| r.parse()).collect()
        };
        Ok(Self::new(
            parse_all(allow.into_iter().map(|r| r.as_ref().to_owned()).collect())?,
            parse_all(deny.into_iter().map(|r| r.as_ref().to_owned()).collect())?,
        ))
    }

    /// The allow rules.
    pub fn allow(&self) -> &[TargetRule] {
        &self.allow
    }

    /// The deny rules.
    pub fn deny(&self) -> &[TargetRule] {
        &self.deny
    }

    /// Whether a probe may connect to `addr` (see the module docs for the precedence).
    /// Use port 0 for ICMP: only rules without ports apply then.
    pub fn check(&self, addr: SocketAddr) -> Result<(), Refusal> {
        let ip = normalize(addr.ip());
        let port = addr.port();
        let refuse = |rule: String| Err(Refusal { addr, rule });
        if let Some(rule) = self.deny.iter().find(|r| r.matches(ip, port)) {
            return refuse(format!("deny {rule} (--deny-target)"));
        }
        let default = DEFAULT_DENY
            .iter()
            .filter_map(|(net, why)| {
                let rule: TargetRule = net.parse().ok()?;
                rule.matches(ip, port).then_some((rule, *why))
            })
            .max_by_key(|(rule, _)| rule.prefix);
        let allowed = |min_prefix: u8| {
            self.allow
                .iter()
                .any(|r| r.prefix >= min_prefix && r.matches(ip, port))
        };
        if let Some((rule, why)) = default {
            if allowed(rule.prefix) {
                return Ok(());
            }
            return refuse(format!("deny {rule} ({why}, default)"));
        }
        if self.allow.is_empty() || allowed(0) {
            return Ok(());
        }
        refuse("not in the allow list (--allow-target)".to_owned())
    }
}

/// `::ffff:a.b.c.d` is `a.b.c.d`: the kernel connects to the IPv4 address.
fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        IpAddr::V4(_) => ip,
    }
}

fn max_prefix(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// `ip` with every bit after `prefix` cleared.
fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & m))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & m))
        }
    }
}

/// Whether `ip` is in `net/prefix`; never across families (`ip` is normalized first).
fn in_network(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => mask(ip, prefix) == net,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(s: &str) -> TargetRule {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn policy(allow: &[&str], deny: &[&str]) -> TargetPolicy {
        TargetPolicy::parse(allow, deny).unwrap_or_else(|e| panic!("{e}"))
    }

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    /// The deciding rule, or "ok".
    fn judge(p: &TargetPolicy, addr: &str) -> String {
        match p.check(sa(addr)) {
            Ok(()) => "ok".to_owned(),
            Err(r) => r.rule,
        }
    }

    #[test]
    fn rules_parse_and_print_back() {
        for (written, shown) in [
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("10.0.0.0/8:443", "10.0.0.0/8:443"),
            ("10.0.0.0/8:8000-8999", "10.0.0.0/8:8000-8999"),
            ("192.0.2.7", "192.0.2.7/32"),
            ("192.0.2.7:22", "192.0.2.7/32:22"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("fd00::/8", "fd00::/8"),
            ("fd00::/8:443", "[fd00::/8]:443"),
            ("[fd00::/8]:443-444", "[fd00::/8]:443-444"),
            ("[2001:db8::1]:80", "[2001:db8::1/128]:80"),
            ("2001:db8::1", "2001:db8::1/128"),
            ("::/0", "::/0"),
            (" 10.1.0.0/16 ", "10.1.0.0/16"),
            // IPv4-mapped networks are IPv4 networks.
            ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
        ] {
            assert_eq!(rule(written).to_string(), shown, "{written}");
            assert_eq!(rule(shown), rule(written), "{shown} parses to itself");
        }
    }

    #[test]
    fn bad_rules_say_why() {
        for (bad, why) in [
            ("", "empty"),
            ("10.0.0.0/33", "longer than 32"),
            ("fd00::/129", "longer than 128"),
            ("10.0.0.1/8", "did you mean 10.0.0.0/8"),
            ("10.0.0.0/8:0", "not a port"),
            ("10.0.0.0/8:65536", "not a port"),
            ("10.0.0.0/8:http", "not a port"),
            ("10.0.0.0/8:90-80", "backwards"),
            ("example.com", "not an IP address"),
            ("10.0.0.0/x", "not a prefix length"),
            ("[fd00::/8", "unclosed"),
            ("[fd00::/8]443", "expected ':'"),
        ] {
            let err = bad.parse::<TargetRule>().expect_err(bad);
            let text = err.to_string();
            assert!(text.contains(why), "{bad}: {text}");
            assert!(text.contains("CIDR[:PORT[-PORT]]"), "{text}");
        }
    }

    #[test]
    fn defaults_deny_link_local_and_metadata_and_nothing_else() {
        let p = TargetPolicy::default();
        assert_eq!(
            judge(&p, "169.254.10.10:80"),
            "deny 169.254.0.0/16 (link-local, default)"
        );
        assert_eq!(
            judge(&p, "169.254.169.254:80"),
            "deny 169.254.169.254/32 (cloud metadata, default)"
        );
        assert_eq!(
            judge(&p, "[fd00:ec2::254]:80"),
            "deny fd00:ec2::254/128 (cloud metadata, default)"
        );
        assert_eq!(
            judge(&p, "100.100.100.200:80"),
            "deny 100.100.100.200/32 (cloud metadata, default)"
        );
        assert_eq!(
            judge(&p, "[fe80::1%2]:80"),
            "deny fe80::/10 (link-local, default)"
        );
        assert_eq!(
            judge(&p, "[febf:ffff::1]:80"),
            "deny fe80::/10 (link-local, default)"
        );
        for ok in [
            "127.0.0.1:80",
            "10.0.0.1:80",
            "169.253.255.255:80",
            "169.255.0.0:80",
            "100.100.100.201:80",
            "[fec0::1]:80",
            "[fd00:ec2::253]:80",
            "[::1]:80",
            "192.0.2.1:0",
        ] {
            assert_eq!(judge(&p, ok), "ok", "{ok}");
        }
    }

    #[test]
    fn ipv4_mapped_addresses_are_judged_as_ipv4() {
        let p = policy(&[], &["10.0.0.0/8"]);
        assert_eq!(
            judge(&p, "[::ffff:169.254.169.254]:80"),
            "deny 169.254.169.254/32 (cloud metadata, default)"
        );
        assert_eq!(
            judge(&p, "[::ffff:10.1.2.3]:80"),
            "deny 10.0.0.0/8 (--deny-target)"
        );
        assert_eq!(judge(&p, "[::ffff:192.0.2.1]:80"), "ok");
        // And a mapped allow list entry permits the IPv4 address.
        let p = policy(&["::ffff:192.0.2.0/120"], &[]);
        assert_eq!(judge(&p, "192.0.2.9:80"), "ok");
        assert_eq!(judge(&p, "[::ffff:192.0.2.9]:80"), "ok");
        assert_eq!(
            judge(&p, "[::ffff:192.0.3.9]:80"),
            "not in the allow list (--allow-target)"
        );
    }

    #[test]
    fn a_wide_allow_does_not_open_the_defaults_an_exact_one_does() {
        let wide = policy(&["0.0.0.0/0", "::/0"], &[]);
        assert_eq!(
            judge(&wide, "169.254.10.10:80"),
            "deny 169.254.0.0/16 (link-local, default)"
        );
        assert_eq!(
            judge(&wide, "[fe80::1]:80"),
            "deny fe80::/10 (link-local, default)"
        );
        assert_eq!(judge(&wide, "192.0.2.1:80"), "ok");

        // A rule at least as specific as the default opens what it names...
        let ll = policy(&["169.254.10.0/24"], &[]);
        assert_eq!(judge(&ll, "169.254.10.10:80"), "ok");
        assert_eq!(
            judge(&ll, "169.254.11.10:80"),
            "deny 169.254.0.0/16 (link-local, default)"
        );
        let whole = policy(&["169.254.0.0/16"], &[]);
        assert_eq!(judge(&whole, "169.254.1.1:80"), "ok");
        // ...but the metadata /32 inside the /16 needs its own rule.
        assert_eq!(
            judge(&whole, "169.254.169.254:80"),
            "deny 169.254.169.254/32 (cloud metadata, default)"
        );
        let md = policy(&["169.254.169.254"], &[]);
        assert_eq!(judge(&md, "169.254.169.254:80"), "ok");
        // The allow list is not empty now: everything else must be in it.
        assert_eq!(
            judge(&md, "192.0.2.1:80"),
            "not in the allow list (--allow-target)"
        );
        // With a port, only that port is opened.
        let port = policy(&["169.254.10.10:8080", "0.0.0.0/0"], &[]);
        assert_eq!(judge(&port, "169.254.10.10:8080"), "ok");
        assert_eq!(
            judge(&port, "169.254.10.10:8081"),
            "deny 169.254.0.0/16 (link-local, default)"
        );
    }

    #[test]
    fn deny_beats_allow_and_allow_lists_are_exclusive() {
        let p = policy(&["10.0.0.0/8", "192.0.2.0/24:443"], &["10.9.0.0/16"]);
        assert_eq!(judge(&p, "10.1.1.1:22"), "ok");
        assert_eq!(judge(&p, "10.9.1.1:22"), "deny 10.9.0.0/16 (--deny-target)");
        assert_eq!(judge(&p, "192.0.2.5:443"), "ok");
        assert_eq!(
            judge(&p, "192.0.2.5:80"),
            "not in the allow list (--allow-target)"
        );
        assert_eq!(
            judge(&p, "[2001:db8::1]:443"),
            "not in the allow list (--allow-target)"
        );
        // An explicit deny beats an explicit allow of the same network, even an exact one.
        let p = policy(&["169.254.10.0/24"], &["169.254.10.0/24"]);
        assert_eq!(
            judge(&p, "169.254.10.1:80"),
            "deny 169.254.10.0/24 (--deny-target)"
        );
    }

    #[test]
    fn port_ranges_are_inclusive_and_icmp_matches_only_portless_rules() {
        let p = policy(&[], &["192.0.2.0/24:8000-8999", "198.51.100.0/24"]);
        assert_eq!(judge(&p, "192.0.2.1:7999"), "ok");
        assert_eq!(
            judge(&p, "192.0.2.1:8000"),
            "deny 192.0.2.0/24:8000-8999 (--deny-target)"
        );
        assert_eq!(
            judge(&p, "192.0.2.1:8999"),
            "deny 192.0.2.0/24:8000-8999 (--deny-target)"
        );
        assert_eq!(judge(&p, "192.0.2.1:9000"), "ok");
        // ICMP (port 0)
        assert_eq!(judge(&p, "192.0.2.1:0"), "ok");
        assert_eq!(
            judge(&p, "198.51.100.1:0"),
            "deny 198.51.100.0/24 (--deny-target)"
        );
    }

    #[test]
    fn refusal_names_the_address_and_the_rule() {
        let r = TargetPolicy::default()
            .check(sa("169.254.169.254:80"))
            .expect_err("metadata");
        assert_eq!(
            r.to_string(),
            "target policy refuses 169.254.169.254:80: deny 169.254.169.254/32 (cloud metadata, default)"
        );
        let icmp = TargetPolicy::default()
            .check(sa("169.254.1.1:0"))
            .expect_err("link-local");
        assert_eq!(
            icmp.to_string(),
            "target policy refuses 169.254.1.1: deny 169.254.0.0/16 (link-local, default)"
        );
    }

    #[test]
    fn families_never_match_each_other() {
        let p = policy(&[], &["0.0.0.0/0"]);
        assert_eq!(judge(&p, "[2001:db8::1]:80"), "ok");
        let p = policy(&[], &["::/0"]);
        assert_eq!(judge(&p, "192.0.2.1:80"), "ok");
        assert_eq!(judge(&p, "[2001:db8::1]:80"), "deny ::/0 (--deny-target)");
    }
}
