//! Probes against real peers that someone else wrote, started by the tests themselves:
//!
//! - DNS: `nsd` serving a test zone on 127.0.0.1 and ::1, on a free port;
//! - TLS: `openssl s_server` with certificates made here (rcgen): valid, expiring soon,
//!   expired, self-signed, wrong host, TLS 1.2 only;
//! - ICMP: the kernel's own echo replies on loopback, and in private network namespaces
//!   (created per test on a thread of its own, gone when the thread ends) whose loopback
//!   ignores or drops echo requests, or whose thread lacks the privilege to open a socket.
//!   Only loopback addresses are ever pinged.
//!
//! `scripts/test-peers.sh` installs the peers. A missing peer fails the test with a message
//! naming that script; nothing is skipped. ICMP and namespace tests need root.

mod support;

use std::future::Future;
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netpulse_probes::icmp::{IcmpProbe, IcmpSockets, SocketKind};
use netpulse_probes::{Probe, ProbeContext, ProbeOutcome};
use netpulse_protocol::check::{
    DnsRecordType, DnsSpec, Endpoint, IcmpSpec, ProbeSpec, TlsSpec, TlsVersion,
};
use netpulse_protocol::result::{CheckStatus, ErrorClass};
use netpulse_test_support::nsd::Nsd;
use netpulse_test_support::openssl::{Identity, SServer};
use netpulse_test_support::ports::{closed_port, free_port_on};
use netpulse_test_support::process::require;
use support::{message, metric};

fn ctx() -> ProbeContext {
    ProbeContext::for_node("test", "n-real")
}

fn require_root(what: &str) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        panic!("{what} needs root (raw ICMP sockets, network namespaces); run the tests as root");
    }
}

/// Runs `probe` with a generous timeout.
async fn run(spec: ProbeSpec) -> ProbeOutcome {
    run_within(spec, Duration::from_secs(5)).await
}

async fn run_within(spec: ProbeSpec, timeout: Duration) -> ProbeOutcome {
    let probe = Probe::build(&spec, &ctx()).unwrap_or_else(|e| panic!("{spec:?}: {e}"));
    let outcome = probe.run(timeout).await;
    // Shown with --nocapture, and for failing tests.
    println!("{} -> {outcome:?}", spec.kind());
    outcome
}

// ---------------------------------------------------------------------------------------------
// DNS against nsd
// ---------------------------------------------------------------------------------------------

const ZONE: &str = r#"$ORIGIN example.test.
$TTL 300
@           IN SOA   ns1.example.test. hostmaster.example.test. 2026112301 3600 600 86400 300
@           IN NS    ns1.example.test.
@           IN NS    NS2.Example.Test.
ns1         IN A     127.0.0.1
ns2         IN A     127.0.0.2
www         IN A     127.0.0.10
www         IN A     127.0.0.11
www         IN AAAA  2001:db8::10
alias       IN CNAME www.example.test.
@           IN MX    10 mail.example.test.
@           IN MX    20 Backup.Example.Test.
mail        IN A     127.0.0.25
backup      IN A     127.0.0.26
@           IN TXT   "v=spf1 -all"
split       IN TXT   "part one " "part two"
_sip._udp   IN SRV   0 5 5060 sip.example.test.
sip         IN A     127.0.0.30
@           IN CAA   0 issue "ca.example.net"
@           IN CAA   0 iodef "mailto:security@example.test"
"#;

/// The zone plus 30 long TXT records at `big`, too many for one 1232-byte UDP answer.
fn zone_text() -> String {
    let mut z = ZONE.to_owned();
    for i in 0..30 {
        z.push_str(&format!(
            "big IN TXT \"record {i:02} {}\"\n",
            "x".repeat(60)
        ));
    }
    z
}

fn dns_spec(port: u16, name: &str, t: DnsRecordType, expect: &[&str]) -> DnsSpec {
    DnsSpec {
        name: name.into(),
        record_type: t,
        nameserver: Some(Endpoint {
            host: "127.0.0.1".into(),
            port,
        }),
        expect: expect.iter().map(|s| s.to_string()).collect(),
        expect_rcode: 0,
    }
}

#[tokio::test]
async fn dns_every_record_type_against_nsd() {
    let nsd = Nsd::start(&zone_text());
    use DnsRecordType as T;
    let cases: [(&str, T, &[&str], f64); 10] = [
        ("www.example.test", T::A, &["127.0.0.10", "127.0.0.11"], 2.0),
        ("www.example.test", T::Aaaa, &["2001:DB8::10"], 1.0),
        ("alias.example.test", T::Cname, &["WWW.example.test."], 1.0),
        (
            "example.test",
            T::Mx,
            &["10 mail.example.test", "20 backup.example.test"],
            2.0,
        ),
        ("example.test", T::Txt, &["v=spf1 -all"], 1.0),
        ("split.example.test", T::Txt, &["part one part two"], 1.0),
        (
            "_sip._udp.example.test",
            T::Srv,
            &["0 5 5060 sip.example.test"],
            1.0,
        ),
        (
            "example.test",
            T::Caa,
            &[
                "0 issue \"ca.example.net\"",
                "0 iodef mailto:security@example.test",
            ],
            2.0,
        ),
        (
            "example.test",
            T::Ns,
            &["ns1.example.test", "ns2.example.test"],
            2.0,
        ),
        (
            "Example.Test.",
            T::Soa,
            &["ns1.example.test hostmaster.example.test 2026112301 3600 600 86400 300"],
            1.0,
        ),
    ];
    for (name, t, expect, answers) in cases {
        let o = run(ProbeSpec::Dns(dns_spec(nsd.port, name, t, expect))).await;
        assert_eq!(o.status, CheckStatus::Up, "{t:?} {name}: {o:?}");
        assert_eq!(metric(&o, "rcode"), 0.0);
        assert_eq!(metric(&o, "answers"), answers, "{t:?} {name}: {o:?}");
        assert_eq!(metric(&o, "ttl_min_s"), 300.0);
        let q = metric(&o, "query_ms");
        assert!(q > 0.0 && q < 5000.0, "{q}");
        let detail = o.detail.as_deref().unwrap_or_default();
        assert!(
            detail.contains("NOERROR") && detail.contains(&format!("@127.0.0.1:{}", nsd.port)),
            "{detail}"
        );
    }
    // Without expectations, any non-empty answer of the type is up; the answers are reported.
    let o = run(ProbeSpec::Dns(dns_spec(
        nsd.port,
        "www.example.test",
        T::A,
        &[],
    )))
    .await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    let detail = o.detail.as_deref().unwrap_or_default();
    assert!(
        detail.contains("\"127.0.0.10\"") && detail.contains("\"127.0.0.11\""),
        "{detail}"
    );
}

#[tokio::test]
async fn dns_over_ipv6_nameserver() {
    let nsd = Nsd::start(&zone_text());
    let mut spec = dns_spec(
        nsd.port,
        "www.example.test",
        DnsRecordType::A,
        &["127.0.0.10"],
    );
    spec.nameserver = Some(Endpoint {
        host: "::1".into(),
        port: nsd.port,
    });
    let o = run(ProbeSpec::Dns(spec)).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert!(
        o.detail
            .as_deref()
            .unwrap_or_default()
            .contains(&format!("@[::1]:{}", nsd.port)),
        "{o:?}"
    );
}

#[tokio::test]
async fn dns_nxdomain_is_assertion_unless_expected() {
    let nsd = Nsd::start(&zone_text());
    let mut spec = dns_spec(nsd.port, "nosuch.example.test", DnsRecordType::A, &[]);
    let o = run(ProbeSpec::Dns(spec.clone())).await;
    assert_eq!(o.status, CheckStatus::Down);
    assert_eq!(o.error_class(), Some(ErrorClass::Assertion), "{o:?}");
    assert!(
        message(&o).starts_with("response code NXDOMAIN, expected NOERROR"),
        "{o:?}"
    );
    assert_eq!(metric(&o, "rcode"), 3.0);

    spec.expect_rcode = 3;
    let o = run(ProbeSpec::Dns(spec)).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_eq!(metric(&o, "answers"), 0.0);

    // Expecting NXDOMAIN for a name that exists fails.
    let mut exists = dns_spec(nsd.port, "www.example.test", DnsRecordType::A, &[]);
    exists.expect_rcode = 3;
    let o = run(ProbeSpec::Dns(exists)).await;
    assert_eq!(o.error_class(), Some(ErrorClass::Assertion), "{o:?}");
    assert!(
        message(&o).starts_with("response code NOERROR, expected NXDOMAIN"),
        "{o:?}"
    );
}

#[tokio::test]
async fn dns_wrong_or_missing_answers_are_assertions() {
    let nsd = Nsd::start(&zone_text());
    let o = run(ProbeSpec::Dns(dns_spec(
        nsd.port,
        "www.example.test",
        DnsRecordType::A,
        &["127.0.0.10", "127.0.0.99"],
    )))
    .await;
    assert_eq!(o.status, CheckStatus::Down);
    assert_eq!(o.error_class(), Some(ErrorClass::Assertion), "{o:?}");
    let m = message(&o);
    assert!(m.contains("missing expected answer \"127.0.0.99\""), "{m}");
    assert!(
        m.contains("\"127.0.0.11\""),
        "the message shows what was there: {m}"
    );
    assert_eq!(metric(&o, "answers"), 2.0);

    let o = run(ProbeSpec::Dns(dns_spec(
        nsd.port,
        "example.test",
        DnsRecordType::Mx,
        &["10 backup.example.test"],
    )))
    .await;
    assert_eq!(o.error_class(), Some(ErrorClass::Assertion), "{o:?}");

    // The name exists but has no record of the type (NODATA).
    let o = run(ProbeSpec::Dns(dns_spec(
        nsd.port,
        "www.example.test",
        DnsRecordType::Txt,
        &[],
    )))
    .await;
    assert_eq!(o.error_class(), Some(ErrorClass::Assertion), "{o:?}");
    assert!(
        message(&o).starts_with("no TXT record for www.example.test"),
        "{o:?}"
    );

    // A CNAME in the answer section is not an A answer; the A records the server added
    // for the alias' target are.
    let o = run(ProbeSpec::Dns(dns_spec(
        nsd.port,
        "alias.example.test",
        DnsRecordType::A,
        &["127.0.0.10"],
    )))
    .await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_eq!(metric(&o, "answers"), 2.0, "{o:?}");
}

#[tokio::test]
async fn dns_truncated_udp_answer_is_retried_over_tcp() {
    let nsd = Nsd::start(&zone_text());
    let o = run(ProbeSpec::Dns(dns_spec(
        nsd.port,
        "big.example.test",
        DnsRecordType::Txt,
        &[&format!("record 29 {}", "x".repeat(60))],
    )))
    .await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_eq!(metric(&o, "answers"), 30.0);
    let detail = o.detail.as_deref().unwrap_or_default();
    assert!(
        detail.contains("TCP after truncation") && detail.contains("and 20 more"),
        "{detail}"
    );
}

#[tokio::test]
async fn dns_closed_nameserver_port_is_connect_error() {
    // Nothing listens: the kernel answers with ICMP port unreachable.
    let port = free_port_on(&["127.0.0.1"], &["127.0.0.1"]);
    let o = run(ProbeSpec::Dns(dns_spec(
        port,
        "www.example.test",
        DnsRecordType::A,
        &[],
    )))
    .await;
    assert_eq!(o.status, CheckStatus::Down);
    assert!(
        matches!(
            o.error_class(),
            Some(ErrorClass::Connect | ErrorClass::Timeout)
        ),
        "{o:?}"
    );
    assert_eq!(
        o.error_class(),
        Some(ErrorClass::Connect),
        "loopback reports port unreachable: {o:?}"
    );
    assert!(
        message(&o).starts_with(&format!("nameserver 127.0.0.1:{port}: port unreachable")),
        "{o:?}"
    );
}

#[tokio::test]
async fn dns_silent_nameserver_is_timeout() {
    // Bound but never answers: only the check's timeout ends the run.
    let silent = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let start = Instant::now();
    let o = run_within(
        ProbeSpec::Dns(dns_spec(port, "www.example.test", DnsRecordType::A, &[])),
        Duration::from_millis(700),
    )
    .await;
    assert_eq!(o.error_class(), Some(ErrorClass::Timeout), "{o:?}");
    assert!(start.elapsed() < Duration::from_secs(3));
    let mut buf = [0u8; 512];
    silent.set_nonblocking(true).expect("nonblocking");
    assert!(
        silent.recv_from(&mut buf).is_ok(),
        "the query reached the silent server"
    );
}

// ---------------------------------------------------------------------------------------------
// TLS against openssl s_server
// ---------------------------------------------------------------------------------------------

/// A test CA and the certificates it signs.
struct Pki {
    ca_pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

fn days(n: i64) -> time::Duration {
    time::Duration::days(n)
}

fn ca_params(cn: &str, not_after: time::Duration) -> rcgen::CertificateParams {
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - days(30);
    params.not_after = now + not_after;
    params
}

fn leaf_params(
    names: &[&str],
    not_before: time::Duration,
    not_after: time::Duration,
) -> rcgen::CertificateParams {
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("names");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, names[0]);
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now + not_before;
    params.not_after = now + not_after;
    params
}

impl Pki {
    fn new() -> Pki {
        let key = rcgen::KeyPair::generate().expect("key");
        let params = ca_params("NetPulse Test CA", days(3650));
        let cert = params.self_signed(&key).expect("ca");
        Pki {
            ca_pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A leaf for `names`, valid from `not_before` to `not_after` relative to now.
    fn leaf(
        &self,
        names: &[&str],
        not_before: time::Duration,
        not_after: time::Duration,
    ) -> Identity {
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = leaf_params(names, not_before, not_after)
            .signed_by(&key, &self.issuer)
            .expect("leaf");
        Identity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            chain_pem: None,
        }
    }
}

fn self_signed(names: &[&str]) -> Identity {
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = leaf_params(names, days(-1), days(90))
        .self_signed(&key)
        .expect("cert");
    Identity {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        chain_pem: None,
    }
}

fn tls_spec(port: u16, ca_pem: Option<&str>) -> TlsSpec {
    TlsSpec {
        host: "127.0.0.1".into(),
        port,
        server_name: Some("localhost".into()),
        warn_days: 14,
        critical_days: 3,
        ca_pem: ca_pem.map(str::to_owned),
        min_version: TlsVersion::Tls12,
    }
}

#[tokio::test]
async fn tls_valid_certificate_from_custom_ca() {
    let pki = Pki::new();
    let server = SServer::start(
        &pki.leaf(&["localhost", "127.0.0.1"], days(-1), days(90)),
        &[],
    );
    let o = run(ProbeSpec::Tls(tls_spec(server.port, Some(&pki.ca_pem)))).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    let left = metric(&o, "days_left");
    assert!((89.9..90.1).contains(&left), "{left}");
    assert_eq!(metric(&o, "tls_version"), 13.0);
    assert_eq!(metric(&o, "chain_len"), 1.0);
    assert!(metric(&o, "handshake_ms") > 0.0);
    assert!(metric(&o, "connect_ms") > 0.0);
    let detail = o.detail.as_deref().unwrap_or_default();
    for part in [
        "TLS 1.3 TLS13_",
        "subject \"CN=localhost\"",
        "issuer \"CN=NetPulse Test CA\"",
        "SANs [localhost, 127.0.0.1]",
        "not after 20",
    ] {
        assert!(detail.contains(part), "{part:?} not in {detail}");
    }

    // By IP address: no SNI, the IP SAN is verified.
    let mut by_ip = tls_spec(server.port, Some(&pki.ca_pem));
    by_ip.server_name = None;
    let o = run(ProbeSpec::Tls(by_ip)).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
}

#[tokio::test]
async fn tls_expiring_in_5_days_is_degraded() {
    let pki = Pki::new();
    let server = SServer::start(&pki.leaf(&["localhost"], days(-1), days(5)), &[]);
    let o = run(ProbeSpec::Tls(tls_spec(server.port, Some(&pki.ca_pem)))).await;
    assert_eq!(o.status, CheckStatus::Degraded, "{o:?}");
    assert_eq!(o.error_class(), Some(ErrorClass::Tls));
    assert!(message(&o).contains("fewer than warn_days 14"), "{o:?}");
    let left = metric(&o, "days_left");
    assert!((4.9..5.1).contains(&left), "{left}");

    // The same certificate with a lower warning threshold is fine.
    let mut relaxed = tls_spec(server.port, Some(&pki.ca_pem));
    relaxed.warn_days = 4;
    let o = run(ProbeSpec::Tls(relaxed)).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
}

#[tokio::test]
async fn tls_expiring_in_1_day_is_down() {
    let pki = Pki::new();
    let server = SServer::start(&pki.leaf(&["localhost"], days(-1), days(1)), &[]);
    let o = run(ProbeSpec::Tls(tls_spec(server.port, Some(&pki.ca_pem)))).await;
    assert_eq!(o.status, CheckStatus::Down, "{o:?}");
    assert_eq!(o.error_class(), Some(ErrorClass::Tls));
    assert!(message(&o).contains("fewer than critical_days 3"), "{o:?}");
}

#[tokio::test]
async fn tls_intermediate_expiring_soon_degrades_the_chain() {
    let root = Pki::new();
    let inter_key = rcgen::KeyPair::generate().expect("key");
    let inter_params = ca_params("NetPulse Test Intermediate", days(6));
    let inter = inter_params
        .signed_by(&inter_key, &root.issuer)
        .expect("intermediate");
    let inter_issuer = rcgen::Issuer::new(inter_params, inter_key);
    let leaf_key = rcgen::KeyPair::generate().expect("key");
    let leaf = leaf_params(&["localhost"], days(-1), days(90))
        .signed_by(&leaf_key, &inter_issuer)
        .expect("leaf");
    let id = Identity {
        cert_pem: leaf.pem(),
        key_pem: leaf_key.serialize_pem(),
        chain_pem: Some(inter.pem()),
    };
    let server = SServer::start(&id, &[]);
    let o = run(ProbeSpec::Tls(tls_spec(server.port, Some(&root.ca_pem)))).await;
    assert_eq!(o.status, CheckStatus::Degraded, "{o:?}");
    assert_eq!(metric(&o, "chain_len"), 2.0);
    let left = metric(&o, "days_left");
    assert!(
        (5.9..6.1).contains(&left),
        "the intermediate expires first: {left}"
    );
    assert!(
        message(&o)
            .starts_with("chain certificate \"CN=NetPulse Test Intermediate\" expires in 6.0 days"),
        "{o:?}"
    );
}

#[tokio::test]
async fn tls_expired_certificate() {
    let pki = Pki::new();
    let server = SServer::start(&pki.leaf(&["localhost"], days(-30), days(-2)), &[]);
    let o = run(ProbeSpec::Tls(tls_spec(server.port, Some(&pki.ca_pem)))).await;
    assert_eq!(o.status, CheckStatus::Down, "{o:?}");
    assert_eq!(o.error_class(), Some(ErrorClass::Tls));
    let m = message(&o);
    assert!(m.starts_with("certificate expired 2.0 days ago"), "{m}");
    assert!(
        m.contains("subject \"CN=localhost\""),
        "facts of the refused certificate: {m}"
    );
    let left = metric(&o, "days_left");
    assert!((-2.1..-1.9).contains(&left), "{left}");
}

#[tokio::test]
async fn tls_self_signed_is_untrusted() {
    let pki = Pki::new();
    let server = SServer::start(&self_signed(&["localhost"]), &[]);
    let o = run(ProbeSpec::Tls(tls_spec(server.port, Some(&pki.ca_pem)))).await;
    assert_eq!(o.error_class(), Some(ErrorClass::Tls), "{o:?}");
    assert!(
        message(&o).starts_with("untrusted: self-signed certificate, not in ca_pem"),
        "{o:?}"
    );
    assert!(metric(&o, "days_left") > 89.0);
}

#[tokio::test]
async fn tls_private_ca_is_untrusted_by_system_roots() {
    let pki = Pki::new();
    let server = SServer::start(&pki.leaf(&["localhost"], days(-1), days(90)), &[]);
    let o = run(ProbeSpec::Tls(tls_spec(server.port, None))).await;
    assert_eq!(o.error_class(), Some(ErrorClass::Tls), "{o:?}");
    assert!(
        message(&o).starts_with("untrusted: issuer CN=NetPulse Test CA is not in the system roots"),
        "{o:?}"
    );
}

#[tokio::test]
async fn tls_wrong_host_is_hostname_mismatch() {
    let pki = Pki::new();
    let server = SServer::start(&pki.leaf(&["other.example.test"], days(-1), days(90)), &[]);
    let o = run(ProbeSpec::Tls(tls_spec(server.port, Some(&pki.ca_pem)))).await;
    assert_eq!(o.error_class(), Some(ErrorClass::Tls), "{o:?}");
    let m = message(&o);
    assert!(
        m.starts_with("hostname mismatch: the certificate is not valid for localhost"),
        "{m}"
    );
    assert!(m.contains("SANs [other.example.test]"), "{m}");
}

#[tokio::test]
async fn tls12_only_server_against_min_version() {
    let pki = Pki::new();
    let server = SServer::start(&pki.leaf(&["localhost"], days(-1), days(90)), &["-tls1_2"]);
    let mut spec = tls_spec(server.port, Some(&pki.ca_pem));
    let o = run(ProbeSpec::Tls(spec.clone())).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_eq!(metric(&o, "tls_version"), 12.0);
    assert!(
        o.detail
            .as_deref()
            .unwrap_or_default()
            .starts_with("TLS 1.2 TLS_ECDHE_"),
        "{o:?}"
    );

    spec.min_version = TlsVersion::Tls13;
    let o = run(ProbeSpec::Tls(spec)).await;
    assert_eq!(o.status, CheckStatus::Down, "{o:?}");
    assert_eq!(o.error_class(), Some(ErrorClass::Tls));
    assert!(
        message(&o).starts_with("the server does not offer TLS 1.3 (min_version 1.3)"),
        "{o:?}"
    );
}

#[tokio::test]
async fn tls_refused_port() {
    let port = closed_port().port();
    let o = run(ProbeSpec::Tls(tls_spec(port, None))).await;
    assert_eq!(o.error_class(), Some(ErrorClass::Refused), "{o:?}");
}

#[tokio::test]
async fn tls_against_a_plaintext_server() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        }
    });
    let o = run(ProbeSpec::Tls(tls_spec(port, None))).await;
    assert_eq!(o.error_class(), Some(ErrorClass::Tls), "{o:?}");
    assert!(message(&o).starts_with("TLS handshake failed"), "{o:?}");
}

// ---------------------------------------------------------------------------------------------
// ICMP
// ---------------------------------------------------------------------------------------------

fn icmp(host: &str, count: u8, packet_size: u16) -> ProbeSpec {
    ProbeSpec::Icmp(IcmpSpec {
        host: host.into(),
        count,
        packet_size,
    })
}

fn assert_clean_ping(o: &ProbeOutcome, count: u8) {
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_eq!(metric(o, "sent"), f64::from(count));
    assert_eq!(metric(o, "received"), f64::from(count));
    assert_eq!(metric(o, "loss_percent"), 0.0);
    let (min, avg, max) = (
        metric(o, "rtt_min_ms"),
        metric(o, "rtt_avg_ms"),
        metric(o, "rtt_max_ms"),
    );
    assert!(
        0.0 < min && min <= avg && avg <= max && max < 1000.0,
        "{min} {avg} {max}"
    );
    assert!(metric(o, "rtt_stddev_ms") >= 0.0);
}

#[tokio::test]
async fn icmp_loopback_v4_v6_and_name() {
    require_root("ICMP");
    for (host, count) in [("127.0.0.1", 3), ("::1", 3), ("localhost", 2)] {
        let o = run(icmp(host, count, 56)).await;
        assert_clean_ping(&o, count);
        assert!(
            o.detail
                .as_deref()
                .unwrap_or_default()
                .contains(&format!("{count}/{count} echo replies")),
            "{o:?}"
        );
    }
    // The node's sockets, one per family, are now open.
    let (v4, v6) = IcmpSockets::node().opened();
    assert!(v4.is_some() && v6.is_some(), "{v4:?} {v6:?}");
}

#[tokio::test]
async fn icmp_packet_size_bounds() {
    require_root("ICMP");
    for size in [0, 1472] {
        let o = run(icmp("127.0.0.1", 2, size)).await;
        assert_clean_ping(&o, 2);
    }
}

#[tokio::test]
async fn icmp_concurrent_checks_share_the_node_socket() {
    require_root("ICMP");
    let runs = (0..20).map(|_| run(icmp("127.0.0.1", 5, 56)));
    for o in futures::future::join_all(runs).await {
        assert_clean_ping(&o, 5);
    }
}

/// Runs `body` on a fresh thread moved into a new, empty network namespace (loopback up),
/// after `setup` ran there; the namespace vanishes with the thread.
fn in_private_netns<T, F, Fut>(setup: impl FnOnce() + Send + 'static, body: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
{
    require_root("network namespaces");
    let ip = require("ip", "iproute2");
    std::thread::spawn(move || {
        // SAFETY: unshare affects only this thread, which owns nothing shared yet.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(
            rc,
            0,
            "unshare(CLONE_NEWNET): {}",
            std::io::Error::last_os_error()
        );
        // Children spawned from this thread start in its namespace.
        let up = Command::new(&ip)
            .args(["link", "set", "lo", "up"])
            .status()
            .expect("ip");
        assert!(up.success(), "ip link set lo up failed");
        setup();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(body())
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// Writes a sysctl of the calling thread's network namespace.
fn netns_sysctl(name: &str, value: &str) {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    std::fs::write(&path, value).unwrap_or_else(|e| panic!("write {path}: {e}"));
}

/// Drops `CAP_NET_RAW` from the calling thread (effective, permitted, inheritable).
fn drop_cap_net_raw() {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    const CAP_NET_RAW: u32 = 13;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget/capset with a v3 header and two data structs, as the ABI requires;
    // pid 0 is the calling thread.
    unsafe {
        assert_eq!(
            libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()),
            0
        );
        let bit = !(1u32 << CAP_NET_RAW);
        data[0].effective &= bit;
        data[0].permitted &= bit;
        data[0].inheritable &= bit;
        assert_eq!(
            libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()),
            0,
            "capset: {}",
            std::io::Error::last_os_error()
        );
    }
}

fn icmp_probe_here(host: &str, count: u8) -> (Probe, Arc<IcmpSockets>) {
    let sockets = IcmpSockets::on_current_runtime();
    let spec = IcmpSpec {
        host: host.into(),
        count,
        packet_size: 56,
    };
    let probe = IcmpProbe::with_sockets(&spec, sockets.clone()).expect("valid");
    (Probe::from(probe), sockets)
}

#[test]
fn icmp_silent_host_is_down_timeout_with_full_loss() {
    let (o, elapsed) = in_private_netns(
        || netns_sysctl("net.ipv4.icmp_echo_ignore_all", "1"),
        || async {
            let (probe, _) = icmp_probe_here("127.0.0.1", 3);
            let start = Instant::now();
            (probe.run(Duration::from_secs(2)).await, start.elapsed())
        },
    );
    assert_eq!(o.status, CheckStatus::Down, "{o:?}");
    assert_eq!(o.error_class(), Some(ErrorClass::Timeout), "{o:?}");
    // Reported by the probe itself before the check's timeout, with what it measured.
    assert_eq!(metric(&o, "loss_percent"), 100.0);
    assert_eq!(metric(&o, "received"), 0.0);
    assert_eq!(o.metric("rtt_avg_ms"), None);
    assert!(
        message(&o).starts_with("0/3 echo replies from 127.0.0.1, 100% loss"),
        "{o:?}"
    );
    assert!(
        elapsed >= Duration::from_millis(1700) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
}

#[test]
fn icmp_partial_loss_is_degraded() {
    let nft = require("nft", "nftables");
    let o = in_private_netns(
        move || {
            // Drop every second echo request arriving on this namespace's loopback.
            let rules =
                "table inet loss {\n  chain input {\n    type filter hook input priority 0;\n    \
                         icmp type echo-request numgen inc mod 2 == 0 drop\n  }\n}\n";
            let status = Command::new(&nft)
                .args(["-f", "-"])
                .stdin(Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    c.stdin.take().expect("stdin").write_all(rules.as_bytes())?;
                    c.wait()
                });
            assert!(status.expect("nft").success(), "nft rules refused");
        },
        || async {
            let (probe, _) = icmp_probe_here("127.0.0.1", 4);
            probe.run(Duration::from_secs(2)).await
        },
    );
    assert_eq!(o.status, CheckStatus::Degraded, "{o:?}");
    assert_eq!(o.error_class(), Some(ErrorClass::Timeout));
    assert_eq!(metric(&o, "loss_percent"), 50.0);
    assert_eq!(metric(&o, "received"), 2.0);
    assert!(metric(&o, "rtt_avg_ms") > 0.0);
}

#[test]
fn icmp_without_privilege_is_internal_with_the_fix() {
    let o = in_private_netns(
        || {
            netns_sysctl("net.ipv4.ping_group_range", "1 0");
            drop_cap_net_raw();
        },
        || async {
            let (probe, sockets) = icmp_probe_here("127.0.0.1", 1);
            let o = probe.run(Duration::from_secs(2)).await;
            assert_eq!(sockets.opened(), (None, None), "a failed open is not kept");
            o
        },
    );
    assert_eq!(o.status, CheckStatus::Down, "{o:?}");
    assert_eq!(o.error_class(), Some(ErrorClass::Internal), "{o:?}");
    let m = message(&o);
    for fix in ["root", "setcap cap_net_raw+ep", "net.ipv4.ping_group_range"] {
        assert!(m.contains(fix), "{fix:?} not in {m}");
    }
}

#[test]
fn icmp_unprivileged_ping_socket_is_used_when_allowed() {
    let (o, kinds) = in_private_netns(
        || {
            netns_sysctl("net.ipv4.ping_group_range", "0 2147483647");
            drop_cap_net_raw();
        },
        || async {
            let (probe, sockets) = icmp_probe_here("127.0.0.1", 3);
            let o = probe.run(Duration::from_secs(2)).await;
            (o, sockets.opened())
        },
    );
    assert_clean_ping(&o, 3);
    assert_eq!(kinds, (Some(SocketKind::Dgram), None));
    assert!(
        o.detail
            .as_deref()
            .unwrap_or_default()
            .contains("via ping socket"),
        "{o:?}"
    );
}

#[test]
fn icmp_raw_socket_is_used_by_root_when_ping_sockets_are_off() {
    let (o, kinds) = in_private_netns(
        || netns_sysctl("net.ipv4.ping_group_range", "1 0"),
        || async {
            let (probe, sockets) = icmp_probe_here("::1", 2);
            let o = probe.run(Duration::from_secs(2)).await;
            (o, sockets.opened())
        },
    );
    assert_clean_ping(&o, 2);
    assert_eq!(kinds, (None, Some(SocketKind::Raw)));
}
