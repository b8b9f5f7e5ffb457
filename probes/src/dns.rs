//! DNS probe: one query to one nameserver, judged on the response code and the answers.
//!
//! The probe speaks DNS itself (messages from `hickory-proto`, sockets from Tokio) instead of
//! going through a resolver, because a check must see exactly what the server said: the
//! response code (a resolver turns NXDOMAIN into an error), the raw answer records, and no
//! cache in between. One query per run, over UDP; a truncated answer is asked again over
//! TCP, as a resolver would.
//!
//! The nameserver is the spec's, or the system's: the first `nameserver` line of
//! `/etc/resolv.conf`, re-read at most every [`RESOLV_CONF_TTL`].
//!
//! Answers are compared in the normalized text form of
//! [`DnsRecordType::normalize_answer`]: every expected answer must be among the records of
//! the queried type in the answer section.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use netpulse_protocol::check::{rcode_text, DnsRecordType, DnsSpec, Endpoint};
use netpulse_protocol::result::ErrorClass;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;

use super::policy::TargetPolicy;
use super::{ms, net, ProbeBuildError, ProbeContext, ProbeKind, ProbeOutcome};

/// How long the system nameserver list is reused before `/etc/resolv.conf` is read again.
pub const RESOLV_CONF_TTL: Duration = Duration::from_secs(30);

/// Largest UDP answer advertised with EDNS (the DNS flag day 2020 value: no fragmentation).
const EDNS_UDP_PAYLOAD: u16 = 1232;

/// Most answers quoted in a message.
const QUOTED_ANSWERS: usize = 10;

/// Most expected answers per check, so a spec cannot make every run expensive.
pub const MAX_EXPECT: usize = 64;

/// A validated DNS check.
#[derive(Debug, Clone)]
pub struct DnsProbe {
    /// The name as the operator wrote it, for messages.
    display_name: String,
    query: Query,
    record_type: DnsRecordType,
    nameserver: Option<Endpoint>,
    /// Normalized expected answers.
    expect: Vec<String>,
    expect_rcode: u16,
    /// The node's target policy, checked on the nameserver's address when the spec names one.
    policy: Arc<TargetPolicy>,
}

impl ProbeKind for DnsProbe {
    type Spec = DnsSpec;

    /// Validates the name and the expected answers (normalizing them once, here).
    fn build(spec: &DnsSpec, ctx: &ProbeContext) -> Result<Self, ProbeBuildError> {
        let display_name = spec.name.trim().to_owned();
        let invalid_name = |reason: String| ProbeBuildError::InvalidField {
            field: "target",
            reason,
        };
        if display_name.is_empty() {
            return Err(invalid_name("empty name".into()));
        }
        let mut name = Name::from_utf8(&display_name)
            .map_err(|e| invalid_name(format!("{display_name:?} is not a DNS name: {e}")))?;
        name.set_fqdn(true);
        if let Some(ns) = &spec.nameserver {
            if ns.host.trim().is_empty() || ns.port == 0 {
                return Err(ProbeBuildError::InvalidField {
                    field: "nameserver",
                    reason: format!("{ns} is not host:port"),
                });
            }
        }
        if spec.expect.len() > MAX_EXPECT {
            return Err(ProbeBuildError::InvalidField {
                field: "expect",
                reason: format!("at most {MAX_EXPECT} answers"),
            });
        }
        let expect = spec
            .expect
            .iter()
            .map(|e| spec.record_type.normalize_answer(e))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| ProbeBuildError::InvalidField {
                field: "expect",
                reason,
            })?;
        Ok(Self {
            display_name,
            query: Query::query(name, wire_type(spec.record_type)),
            record_type: spec.record_type,
            nameserver: spec.nameserver.clone(),
            expect,
            expect_rcode: spec.expect_rcode,
            policy: Arc::clone(&ctx.target_policy),
        })
    }

    /// Sends the query and judges the answer. Never enforces a timeout itself (see
    /// `Probe::run`): a server that does not answer is reported by the caller's timeout.
    async fn run(&self, _timeout: Duration) -> ProbeOutcome {
        let server = match self.server().await {
            Ok(s) => s,
            Err(Unusable::Dns(message)) => {
                return ProbeOutcome::down(ErrorClass::Dns, message, Vec::new())
            }
            Err(Unusable::Refused(refusal)) => return net::refused(&refusal, Vec::new()),
        };
        let mut request = Message::query();
        request.metadata.recursion_desired = true;
        request.add_query(self.query.clone());
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_UDP_PAYLOAD);
        request.set_edns(edns);
        let bytes = match request.to_vec() {
            Ok(b) => b,
            Err(e) => {
                return ProbeOutcome::down(
                    ErrorClass::Internal,
                    format!("cannot encode the query: {e}"),
                    Vec::new(),
                )
            }
        };

        let query_start = Instant::now();
        let mut over_tcp = false;
        let mut response = match exchange_udp(server, &bytes, &request).await {
            Ok(r) => r,
            Err(f) => return f.into_outcome(server, Vec::new()),
        };
        if response.truncation {
            over_tcp = true;
            response = match exchange_tcp(server, &bytes, &request).await {
                Ok(r) => r,
                Err(f) => return f.into_outcome(server, Vec::new()),
            };
        }
        let query_time = query_start.elapsed();
        self.judge(server, &response, query_time, over_tcp)
    }
}

/// Why the nameserver cannot be asked.
enum Unusable {
    /// Its name did not resolve.
    Dns(String),
    /// The target policy refused every address it has.
    Refused(super::policy::Refusal),
}

impl DnsProbe {
    /// The nameserver's address for this run: the spec's (its first address the target
    /// policy permits) or the system's. The system nameserver is the node operator's choice,
    /// not the monitor's, and is not subject to the target policy (like the resolver every
    /// probe uses for names).
    async fn server(&self) -> Result<SocketAddr, Unusable> {
        let Some(ep) = &self.nameserver else {
            return Ok(system_nameserver());
        };
        let addrs: Vec<SocketAddr> = match ep.host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, ep.port)],
            Err(_) => tokio::net::lookup_host((ep.host.as_str(), ep.port))
                .await
                .map_err(|e| Unusable::Dns(format!("cannot resolve nameserver {}: {e}", ep.host)))?
                .collect(),
        };
        match net::first_permitted(addrs, &self.policy) {
            Some(Ok(addr)) => Ok(addr),
            Some(Err(refusal)) => Err(Unusable::Refused(refusal)),
            None => Err(Unusable::Dns(format!(
                "nameserver {} resolved to no address",
                ep.host
            ))),
        }
    }

    fn judge(
        &self,
        server: SocketAddr,
        response: &Message,
        query_time: Duration,
        over_tcp: bool,
    ) -> ProbeOutcome {
        let rcode = u16::from(response.response_code);
        let want = wire_type(self.record_type);
        let answers: Vec<&Record> = response
            .answers
            .iter()
            .filter(|r| r.record_type() == want)
            .collect();
        let texts: Vec<String> = answers
            .iter()
            .filter_map(|r| answer_text(self.record_type, &r.data))
            .collect();
        let mut metrics = vec![
            ("query_ms".to_owned(), ms(query_time)),
            ("rcode".to_owned(), f64::from(rcode)),
            ("answers".to_owned(), texts.len() as f64),
        ];
        if let Some(ttl) = answers.iter().map(|r| r.ttl).min() {
            metrics.push(("ttl_min_s".to_owned(), f64::from(ttl)));
        }
        let detail = format!(
            "{} {} @{server}{}: {} in {:.1} ms, {}",
            self.record_type.as_str(),
            self.display_name,
            if over_tcp {
                " (TCP after truncation)"
            } else {
                ""
            },
            rcode_text(rcode),
            ms(query_time),
            quote_answers(&texts),
        );

        if rcode != self.expect_rcode {
            let message = format!(
                "response code {}, expected {} ({detail})",
                rcode_text(rcode),
                rcode_text(self.expect_rcode)
            );
            return ProbeOutcome::down(ErrorClass::Assertion, message, metrics).with_detail(detail);
        }
        let missing: Vec<&str> = self
            .expect
            .iter()
            .filter(|e| !texts.contains(e))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            let message = format!(
                "missing expected answer{} {} ({detail})",
                if missing.len() > 1 { "s" } else { "" },
                missing
                    .iter()
                    .map(|m| format!("{m:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return ProbeOutcome::down(ErrorClass::Assertion, message, metrics).with_detail(detail);
        }
        if rcode == 0 && texts.is_empty() && self.expect_rcode == 0 {
            let message = format!(
                "no {} record for {} ({detail})",
                self.record_type.as_str(),
                self.display_name
            );
            return ProbeOutcome::down(ErrorClass::Assertion, message, metrics).with_detail(detail);
        }
        ProbeOutcome::up(metrics).with_detail(detail)
    }
}

/// "no answers" or `answers: "a", "b"` (at most [`QUOTED_ANSWERS`]).
fn quote_answers(texts: &[String]) -> String {
    if texts.is_empty() {
        return "no answers".into();
    }
    let mut out = format!("answer{}: ", if texts.len() == 1 { "" } else { "s" });
    let quoted: Vec<String> = texts
        .iter()
        .take(QUOTED_ANSWERS)
        .map(|t| format!("{t:?}"))
        .collect();
    out.push_str(&quoted.join(", "));
    if texts.len() > QUOTED_ANSWERS {
        out.push_str(&format!(" and {} more", texts.len() - QUOTED_ANSWERS));
    }
    out
}

/// The hickory record type of an API record type.
fn wire_type(t: DnsRecordType) -> RecordType {
    match t {
        DnsRecordType::A => RecordType::A,
        DnsRecordType::Aaaa => RecordType::AAAA,
        DnsRecordType::Cname => RecordType::CNAME,
        DnsRecordType::Mx => RecordType::MX,
        DnsRecordType::Txt => RecordType::TXT,
        DnsRecordType::Ns => RecordType::NS,
        DnsRecordType::Soa => RecordType::SOA,
        DnsRecordType::Srv => RecordType::SRV,
        DnsRecordType::Caa => RecordType::CAA,
    }
}

/// A record's data in the normalized form expectations are written in; `None` when the data
/// is not of the queried type.
pub fn answer_text(t: DnsRecordType, data: &RData) -> Option<String> {
    let presentation = match data {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(a) => a.0.to_string(),
        RData::CNAME(n) => n.0.to_ascii(),
        RData::NS(n) => n.0.to_ascii(),
        RData::MX(mx) => format!("{} {}", mx.preference, mx.exchange.to_ascii()),
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
        RData::SRV(srv) => format!(
            "{} {} {} {}",
            srv.priority,
            srv.weight,
            srv.port,
            srv.target.to_ascii()
        ),
        RData::SOA(soa) => format!(
            "{} {} {} {} {} {} {}",
            soa.mname.to_ascii(),
            soa.rname.to_ascii(),
            soa.serial,
            // Signed in hickory, unsigned 32-bit on the wire.
            soa.refresh as u32,
            soa.retry as u32,
            soa.expire as u32,
            soa.minimum
        ),
        RData::CAA(caa) => format!(
            "{} {} {}",
            caa.flags(),
            caa.tag,
            String::from_utf8_lossy(&caa.value)
        ),
        _ => return None,
    };
    // Records from the wire can hold what an operator cannot write (an empty TXT, odd bytes in
    // names): such answers are kept as they are, they just never match an expectation.
    Some(t.normalize_answer(&presentation).unwrap_or(presentation))
}

/// Why no response was obtained.
#[derive(Debug)]
struct ExchangeFailure {
    class: ErrorClass,
    what: String,
}

impl ExchangeFailure {
    fn into_outcome(self, server: SocketAddr, metrics: Vec<(String, f64)>) -> ProbeOutcome {
        ProbeOutcome::down(
            self.class,
            format!("nameserver {server}: {}", self.what),
            metrics,
        )
    }

    fn io(what: &str, e: &io::Error) -> Self {
        let class = match e.kind() {
            io::ErrorKind::TimedOut => ErrorClass::Timeout,
            io::ErrorKind::ConnectionRefused => ErrorClass::Connect,
            io::ErrorKind::AddrNotAvailable | io::ErrorKind::Unsupported => ErrorClass::Internal,
            _ => ErrorClass::Connect,
        };
        let what = if e.kind() == io::ErrorKind::ConnectionRefused {
            format!("port unreachable, nothing listens there ({what}: {e})")
        } else {
            format!("{what}: {e}")
        };
        Self { class, what }
    }
}

/// Whether `response` answers `request` (same id, a response, the same question); anything
/// else on the socket is ignored, so a stray or spoofed datagram cannot decide the check.
fn answers_request(response: &Message, request: &Message) -> bool {
    response.id == request.id
        && response.message_type == MessageType::Response
        && response.op_code == OpCode::Query
        // Some servers leave the question out of error responses (FORMERR, NOTIMP).
        && (response.queries.is_empty()
            || response.queries.len() == request.queries.len()
                && response.queries.iter().zip(&request.queries).all(|(a, b)| {
                    // Name comparison is case-insensitive, as DNS is.
                    a.name() == b.name()
                        && a.query_type() == b.query_type()
                        && a.query_class() == b.query_class()
                }))
}

async fn exchange_udp(
    server: SocketAddr,
    bytes: &[u8],
    request: &Message,
) -> Result<Message, ExchangeFailure> {
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local)
        .await
        .map_err(|e| ExchangeFailure::io("cannot open a UDP socket", &e))?;
    // Connected, so that an ICMP port unreachable surfaces as "connection refused".
    socket
        .connect(server)
        .await
        .map_err(|e| ExchangeFailure::io("connect", &e))?;
    socket
        .send(bytes)
        .await
        .map_err(|e| ExchangeFailure::io("send", &e))?;
    let mut buf = vec![0u8; 65_535];
    loop {
        let n = socket
            .recv(&mut buf)
            .await
            .map_err(|e| ExchangeFailure::io("receive", &e))?;
        match Message::from_vec(&buf[..n]) {
            Ok(m) if answers_request(&m, request) => return Ok(m),
            Ok(_) => {
                tracing::debug!(%server, "ignoring a DNS message that does not answer the query")
            }
            Err(e) => tracing::debug!(%server, error = %e, "ignoring an undecodable datagram"),
        }
    }
}

async fn exchange_tcp(
    server: SocketAddr,
    bytes: &[u8],
    request: &Message,
) -> Result<Message, ExchangeFailure> {
    let mut stream = TcpStream::connect(server)
        .await
        .map_err(|e| ExchangeFailure::io("TCP connect", &e))?;
    let len = u16::try_from(bytes.len()).map_err(|_| ExchangeFailure {
        class: ErrorClass::Internal,
        what: "query too large for TCP".into(),
    })?;
    let mut framed = Vec::with_capacity(bytes.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(bytes);
    stream
        .write_all(&framed)
        .await
        .map_err(|e| ExchangeFailure::io("TCP send", &e))?;
    let protocol = |what: String| ExchangeFailure {
        class: ErrorClass::Protocol,
        what,
    };
    let mut len = [0u8; 2];
    stream
        .read_exact(&mut len)
        .await
        .map_err(|e| protocol(format!("TCP answer: {e}")))?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream
        .read_exact(&mut buf)
        .await
        .map_err(|e| protocol(format!("TCP answer: {e}")))?;
    let m =
        Message::from_vec(&buf).map_err(|e| protocol(format!("undecodable TCP answer: {e}")))?;
    if answers_request(&m, request) {
        Ok(m)
    } else {
        Err(protocol("TCP answer does not match the query".into()))
    }
}

/// The nameservers of a `resolv.conf`, in order, on port 53. Scoped IPv6 addresses
/// (`fe80::1%eth0`) and unparsable lines are skipped.
pub fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let line = line.split(['#', ';']).next().unwrap_or_default();
            let mut words = line.split_whitespace();
            if words.next() != Some("nameserver") {
                return None;
            }
            let ip: IpAddr = words.next()?.parse().ok()?;
            Some(SocketAddr::new(ip, 53))
        })
        .collect()
}

/// The first system nameserver, or `127.0.0.1:53` (the libc default) when none is listed.
fn system_nameserver() -> SocketAddr {
    static CACHE: Mutex<Option<(Instant, SocketAddr)>> = Mutex::new(None);
    let now = Instant::now();
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((at, addr)) = *cache {
        if now.duration_since(at) < RESOLV_CONF_TTL {
            return addr;
        }
    }
    let addr = std::fs::read_to_string("/etc/resolv.conf")
        .ok()
        .and_then(|text| parse_resolv_conf(&text).into_iter().next())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 53)));
    *cache = Some((now, addr));
    addr
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::rr::rdata::{caa::CAA, CNAME, MX, SOA, SRV, TXT};
    use hickory_proto::rr::rdata::{A, AAAA};
    use netpulse_protocol::result::CheckStatus;

    use super::*;

    fn name(s: &str) -> Name {
        Name::from_str(s).expect("name")
    }

    fn spec(record_type: DnsRecordType, expect: &[&str]) -> DnsSpec {
        DnsSpec {
            name: "www.example.test".into(),
            record_type,
            nameserver: Some(Endpoint {
                host: "127.0.0.1".into(),
                port: 53,
            }),
            expect: expect.iter().map(|s| s.to_string()).collect(),
            expect_rcode: 0,
        }
    }

    fn ctx() -> ProbeContext {
        ProbeContext::for_node("r", "n")
    }

    #[test]
    fn answers_format_like_expectations() {
        use DnsRecordType as T;
        let cases: Vec<(T, RData, &str)> = vec![
            (
                T::A,
                RData::A(A::from(std::net::Ipv4Addr::new(127, 0, 0, 10))),
                "127.0.0.10",
            ),
            (
                T::Aaaa,
                RData::AAAA(AAAA::from_str("2001:db8::10").expect("ip")),
                "2001:db8::10",
            ),
            (
                T::Cname,
                RData::CNAME(CNAME(name("Host.Example.Test."))),
                "host.example.test",
            ),
            (
                T::Mx,
                RData::MX(MX::new(10, name("Mail.example.test."))),
                "10 mail.example.test",
            ),
            (
                T::Txt,
                RData::TXT(TXT::new(vec!["v=spf1 ".into(), "-all".into()])),
                "v=spf1 -all",
            ),
            (
                T::Srv,
                RData::SRV(SRV::new(0, 5, 5060, name("sip.example.test."))),
                "0 5 5060 sip.example.test",
            ),
            (
                T::Soa,
                RData::SOA(SOA::new(
                    name("ns1.example.test."),
                    name("hostmaster.example.test."),
                    7,
                    3600,
                    600,
                    86400,
                    300,
                )),
                "ns1.example.test hostmaster.example.test 7 3600 600 86400 300",
            ),
            (
                T::Caa,
                RData::CAA(CAA::new_issue(false, Some(name("ca.example.net")), vec![])),
                "0 issue ca.example.net",
            ),
        ];
        for (t, data, want) in cases {
            assert_eq!(answer_text(t, &data).as_deref(), Some(want), "{t:?}");
            assert_eq!(
                t.normalize_answer(want).as_deref(),
                Ok(want),
                "{t:?} round trip"
            );
        }
    }

    #[test]
    fn resolv_conf() {
        let text = "# generated\nsearch example.test\nnameserver 127.0.0.53\n\
                    nameserver ::1 # local\nnameserver fe80::1%eth0\nnameserver bogus\noptions edns0\n";
        assert_eq!(
            parse_resolv_conf(text),
            vec![
                SocketAddr::from(([127, 0, 0, 53], 53)),
                "[::1]:53".parse().expect("addr")
            ]
        );
        assert!(parse_resolv_conf("").is_empty());
    }

    #[test]
    fn build_normalizes_and_refuses() {
        let p = DnsProbe::build(&spec(DnsRecordType::Mx, &["10 MAIL.example.test."]), &ctx())
            .expect("valid");
        assert_eq!(p.expect, vec!["10 mail.example.test".to_owned()]);
        assert_eq!(p.query.query_type(), RecordType::MX);
        assert!(p.query.name().is_fqdn());
        let bad = DnsProbe::build(&spec(DnsRecordType::A, &["::1"]), &ctx());
        assert!(
            matches!(
                bad,
                Err(ProbeBuildError::InvalidField {
                    field: "expect",
                    ..
                })
            ),
            "{bad:?}"
        );
        let mut empty = spec(DnsRecordType::A, &[]);
        empty.name = " ".into();
        assert!(matches!(
            DnsProbe::build(&empty, &ctx()),
            Err(ProbeBuildError::InvalidField {
                field: "target",
                ..
            })
        ));
        let idn = DnsProbe::build(
            &DnsSpec {
                name: "bücher.example".into(),
                ..spec(DnsRecordType::A, &[])
            },
            &ctx(),
        )
        .expect("idn");
        assert_eq!(idn.query.name().to_ascii(), "xn--bcher-kva.example.");
    }

    fn response_to(probe: &DnsProbe, rcode: u16, answers: Vec<Record>) -> Message {
        let mut m = Message::response(7, OpCode::Query);
        m.metadata.response_code = rcode.into();
        m.add_query(probe.query.clone());
        m.add_answers(answers);
        m
    }

    #[test]
    fn judge_rcode_expectations_and_nodata() {
        let server: SocketAddr = ([127, 0, 0, 1], 53).into();
        let t = Duration::from_millis(2);
        let p = DnsProbe::build(&spec(DnsRecordType::A, &["127.0.0.10"]), &ctx()).expect("valid");
        let rec = |ip: [u8; 4]| {
            Record::from_rdata(
                name("www.example.test."),
                300,
                RData::A(A::from(std::net::Ipv4Addr::from(ip))),
            )
        };
        // A CNAME in the answer section does not count as an A answer.
        let cname = Record::from_rdata(
            name("www.example.test."),
            60,
            RData::CNAME(CNAME(name("host.example.test."))),
        );
        let ok = p.judge(
            server,
            &response_to(
                &p,
                0,
                vec![cname, rec([127, 0, 0, 10]), rec([127, 0, 0, 11])],
            ),
            t,
            false,
        );
        assert_eq!(ok.status, CheckStatus::Up, "{ok:?}");
        assert_eq!(ok.metric("answers"), Some(2.0));
        assert_eq!(ok.metric("ttl_min_s"), Some(300.0));
        assert!(
            ok.detail
                .as_deref()
                .is_some_and(|d| d.contains("\"127.0.0.11\"")),
            "{ok:?}"
        );

        let missing = p.judge(
            server,
            &response_to(&p, 0, vec![rec([127, 0, 0, 11])]),
            t,
            false,
        );
        assert_eq!(missing.error_class(), Some(ErrorClass::Assertion));
        assert!(
            missing
                .error
                .as_ref()
                .is_some_and(|e| e.message.contains("missing expected answer \"127.0.0.10\"")),
            "{missing:?}"
        );

        let nx = p.judge(server, &response_to(&p, 3, vec![]), t, false);
        assert_eq!(nx.error_class(), Some(ErrorClass::Assertion));
        assert!(
            nx.error.as_ref().is_some_and(|e| e
                .message
                .starts_with("response code NXDOMAIN, expected NOERROR")),
            "{nx:?}"
        );
        assert_eq!(nx.metric("rcode"), Some(3.0));

        let plain = DnsProbe::build(&spec(DnsRecordType::A, &[]), &ctx()).expect("valid");
        let nodata = plain.judge(server, &response_to(&plain, 0, vec![]), t, false);
        assert_eq!(
            nodata.error_class(),
            Some(ErrorClass::Assertion),
            "{nodata:?}"
        );

        let mut want_nx = spec(DnsRecordType::A, &[]);
        want_nx.expect_rcode = 3;
        let want_nx = DnsProbe::build(&want_nx, &ctx()).expect("valid");
        let nx_ok = want_nx.judge(server, &response_to(&want_nx, 3, vec![]), t, false);
        assert_eq!(nx_ok.status, CheckStatus::Up, "{nx_ok:?}");
    }

    #[test]
    fn only_matching_responses_are_accepted() {
        let p = DnsProbe::build(&spec(DnsRecordType::A, &[]), &ctx()).expect("valid");
        let mut request = Message::query();
        request.add_query(p.query.clone());
        let mut good = Message::response(request.id, OpCode::Query);
        good.add_query(p.query.clone());
        assert!(answers_request(&good, &request));
        let mut wrong_id = good.clone();
        wrong_id.metadata.id = request.id.wrapping_add(1);
        assert!(!answers_request(&wrong_id, &request));
        let mut other_question = Message::response(request.id, OpCode::Query);
        other_question.add_query(Query::query(name("evil.example.test."), RecordType::A));
        assert!(!answers_request(&other_question, &request));
        assert!(
            !answers_request(&request, &request),
            "a query is not a response"
        );
    }
}
