//! The SNMP probe against a real net-snmp `snmpd`, started by each test on 127.0.0.1 and a
//! free UDP port, with a v2c community (`public`) and SNMPv3 users (authPriv SHA/AES, and
//! authNoPriv SHA-256) created from its configuration file in a private persistent directory.
//!
//! `scripts/test-peers.sh` installs snmpd. A missing snmpd fails the tests with a message
//! naming that script; nothing is skipped.
#![cfg(feature = "snmp")]

mod support;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use netpulse_probes::{Probe, ProbeContext, ProbeOutcome};
use netpulse_protocol::check::{
    ProbeSpec, SnmpAuthProtocol, SnmpPrivProtocol, SnmpSpec, SnmpThreshold, SnmpVersion,
    ThresholdOp, ThresholdSeverity,
};
use netpulse_protocol::result::{CheckStatus, ErrorClass};
use netpulse_test_support::ports::free_udp_port;
use netpulse_test_support::snmpd::Snmpd;
use support::{message, metric};

const SYS_DESCR: &str = "1.3.6.1.2.1.1.1.0";
const SYS_UPTIME: &str = "1.3.6.1.2.1.1.3.0";
const SYS_SERVICES: &str = "1.3.6.1.2.1.1.7.0";
const SYSTEM: &str = "1.3.6.1.2.1.1";
/// ifInOctets of interface 1 (loopback on Linux).
const LO_IN_OCTETS: &str = "1.3.6.1.2.1.2.2.1.10.1";

const AUTH_PASS: &str = "authpass123";
const PRIV_PASS: &str = "privpass123";

/// The agent's configuration: v2c community `public`, and SNMPv3 users (authPriv SHA/AES,
/// authNoPriv SHA-256).
fn conf() -> String {
    format!(
        "rocommunity public 127.0.0.1\n\
         sysServices 72\n\
         createUser authPrivUser SHA \"{AUTH_PASS}\" AES \"{PRIV_PASS}\"\n\
         rouser authPrivUser priv\n\
         createUser authUser SHA-256 \"{AUTH_PASS}\"\n\
         rouser authUser auth\n"
    )
}

/// An agent with [`conf`].
fn start_agent() -> Snmpd {
    Snmpd::start(&conf())
}

/// Probe specs for the test agent.
trait SpecFor {
    fn spec(&self, version: SnmpVersion) -> SnmpSpec;
}

impl SpecFor for Snmpd {
    fn spec(&self, version: SnmpVersion) -> SnmpSpec {
        SnmpSpec {
            host: "127.0.0.1".into(),
            port: self.addr.port(),
            version,
            oids: Vec::new(),
            walk: Vec::new(),
            thresholds: Vec::new(),
            rates: Vec::new(),
        }
    }
}

fn v2c(community: &str) -> SnmpVersion {
    SnmpVersion::V2c {
        community: community.into(),
    }
}

fn v3_auth_priv(auth_password: &str, priv_password: &str) -> SnmpVersion {
    SnmpVersion::V3 {
        user: "authPrivUser".into(),
        auth: Some((SnmpAuthProtocol::Sha, auth_password.into())),
        privacy: Some((SnmpPrivProtocol::Aes, priv_password.into())),
    }
}

fn build(spec: SnmpSpec) -> Probe {
    let ctx = ProbeContext::for_node("test", "n-snmp");
    Probe::build(&ProbeSpec::Snmp(spec), &ctx).unwrap_or_else(|e| panic!("build: {e}"))
}

async fn run_probe(probe: &Probe, timeout: Duration) -> ProbeOutcome {
    let outcome = probe.run(timeout).await;
    println!("snmp -> {outcome:?}");
    outcome
}

async fn run(spec: SnmpSpec) -> ProbeOutcome {
    run_probe(&build(spec), Duration::from_secs(5)).await
}

fn assert_no_secrets(o: &ProbeOutcome) {
    let shown = format!("{o:?}");
    for secret in [
        AUTH_PASS,
        PRIV_PASS,
        "public",
        "wrongcommunity",
        "wrongpass999",
    ] {
        assert!(!shown.contains(secret), "{secret:?} leaked: {shown}");
    }
}

#[tokio::test]
async fn v2c_get_sys_descr_and_uptime() {
    let agent = start_agent();
    let mut spec = agent.spec(v2c("public"));
    spec.oids = vec![SYS_DESCR.into(), SYS_SERVICES.into(), SYS_UPTIME.into()];
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}\n{}", agent.log());
    assert!(metric(&o, "sys_uptime_s") >= 0.0);
    // Asked for by OID too: also a metric named by it, in hundredths of a second.
    let ticks = metric(&o, SYS_UPTIME);
    assert!(
        (ticks - metric(&o, "sys_uptime_s") * 100.0).abs() < 1e-6,
        "{o:?}"
    );
    assert!(metric(&o, "response_ms") > 0.0);
    // sysServices is an INTEGER; sysDescr is text, so it is no metric but in the detail.
    assert!(metric(&o, SYS_SERVICES) > 0.0);
    assert_eq!(o.metric(SYS_DESCR), None);
    let detail = o.detail.as_deref().unwrap_or_default();
    assert!(
        detail.contains(SYS_DESCR) && detail.contains("Linux"),
        "{detail}"
    );
    assert_no_secrets(&o);
}

#[tokio::test]
async fn v2c_walk_of_system_subtree() {
    let agent = start_agent();
    let mut spec = agent.spec(v2c("public"));
    spec.walk = vec![SYSTEM.into()];
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}\n{}", agent.log());
    // The walk found sysUpTime (as an OID-named metric too) and sysServices.
    assert!(metric(&o, SYS_UPTIME) >= 0.0);
    assert!(metric(&o, SYS_SERVICES) > 0.0);
    let detail = o.detail.as_deref().unwrap_or_default();
    assert!(detail.contains(&format!("walk {SYSTEM}:")), "{detail}");
    // A subtree the agent does not have is a failed expectation.
    let mut spec = agent.spec(v2c("public"));
    spec.walk = vec!["1.3.6.1.2.1.9999".into()];
    let o = run(spec).await;
    assert_eq!(o.error_class(), Some(ErrorClass::Assertion), "{o:?}");
    assert!(message(&o).contains("1.3.6.1.2.1.9999"), "{o:?}");
}

#[tokio::test]
async fn v2c_wrong_community_is_down_with_timeout() {
    let agent = start_agent();
    let started = Instant::now();
    let o = run_probe(
        &build(agent.spec(v2c("wrongcommunity"))),
        Duration::from_millis(1500),
    )
    .await;
    assert_eq!(o.status, CheckStatus::Down, "{o:?}");
    assert!(
        matches!(
            o.error_class(),
            Some(ErrorClass::Timeout | ErrorClass::Auth)
        ),
        "{o:?}"
    );
    assert!(message(&o).contains("community"), "{o:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "{o:?}");
    assert_no_secrets(&o);
}

#[tokio::test]
async fn no_agent_on_port_is_a_timeout_within_budget() {
    let port = free_udp_port();
    let spec = SnmpSpec {
        host: "127.0.0.1".into(),
        port,
        version: v2c("public"),
        oids: Vec::new(),
        walk: Vec::new(),
        thresholds: Vec::new(),
        rates: Vec::new(),
    };
    let started = Instant::now();
    let o = run_probe(&build(spec), Duration::from_millis(1000)).await;
    assert_eq!(o.status, CheckStatus::Down, "{o:?}");
    // The client's UDP socket is not connected, so an ICMP port unreachable is not seen:
    // a silent port is a timeout, reported by the probe itself (one retry) within budget.
    assert_eq!(o.error_class(), Some(ErrorClass::Timeout), "{o:?}");
    assert!(message(&o).contains("no response"), "{o:?}");
    assert!(started.elapsed() < Duration::from_millis(1500), "{o:?}");
}

#[tokio::test]
async fn v3_auth_priv_ok() {
    let agent = start_agent();
    let mut spec = agent.spec(v3_auth_priv(AUTH_PASS, PRIV_PASS));
    spec.oids = vec![SYS_DESCR.into()];
    spec.walk = vec![SYSTEM.into()];
    let probe = build(spec);
    let o = run_probe(&probe, Duration::from_secs(5)).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}\n{}", agent.log());
    assert!(metric(&o, "sys_uptime_s") >= 0.0);
    assert!(metric(&o, SYS_SERVICES) > 0.0);
    // Again with the same probe: the discovered engine is reused.
    let o = run_probe(&probe, Duration::from_secs(5)).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_no_secrets(&o);
    // authNoPriv with SHA-256.
    let o = run(agent.spec(SnmpVersion::V3 {
        user: "authUser".into(),
        auth: Some((SnmpAuthProtocol::Sha256, AUTH_PASS.into())),
        privacy: None,
    }))
    .await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}\n{}", agent.log());
}

#[tokio::test]
async fn v3_wrong_auth_password_is_auth() {
    let agent = start_agent();
    let o = run(agent.spec(v3_auth_priv("wrongpass999", PRIV_PASS))).await;
    assert_eq!(o.status, CheckStatus::Down, "{o:?}");
    assert_eq!(
        o.error_class(),
        Some(ErrorClass::Auth),
        "{o:?}\n{}",
        agent.log()
    );
    assert_no_secrets(&o);
    assert!(message(&o).contains("wrong"), "{o:?}");
    // A wrong privacy password: net-snmp cannot decrypt the request and drops it without a
    // Report (snmpget times out too), so this is a timeout whose message says why.
    let o = run_probe(
        &build(agent.spec(v3_auth_priv(AUTH_PASS, "wrongpass999"))),
        Duration::from_millis(1500),
    )
    .await;
    assert_eq!(o.status, CheckStatus::Down, "{o:?}");
    assert_eq!(o.error_class(), Some(ErrorClass::Timeout), "{o:?}");
    assert!(message(&o).contains("privacy"), "{o:?}");
    assert_no_secrets(&o);
    // An unknown user is an authentication failure too.
    let o = run(agent.spec(SnmpVersion::V3 {
        user: "nobody".into(),
        auth: Some((SnmpAuthProtocol::Sha, AUTH_PASS.into())),
        privacy: None,
    }))
    .await;
    assert_eq!(o.error_class(), Some(ErrorClass::Auth), "{o:?}");
}

#[tokio::test]
async fn thresholds_make_runs_degraded_or_down() {
    let agent = start_agent();
    let threshold = |oid: &str, op, value, severity| SnmpThreshold {
        oid: oid.into(),
        op,
        value,
        severity,
    };
    // Uptime below a billion seconds: true for a fresh agent -> degraded.
    let mut spec = agent.spec(v2c("public"));
    spec.thresholds = vec![threshold(
        "sys_uptime_s",
        ThresholdOp::Lt,
        1e9,
        ThresholdSeverity::Degraded,
    )];
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Degraded, "{o:?}");
    assert_eq!(o.error_class(), Some(ErrorClass::Assertion));
    assert!(message(&o).contains("sys_uptime_s"), "{o:?}");
    // sysServices of net-snmp is 72; "== 72" breaches with severity down, and wins over a
    // degraded breach.
    let mut spec = agent.spec(v2c("public"));
    spec.oids = vec![SYS_SERVICES.into()];
    spec.thresholds = vec![
        threshold(
            "sys_uptime_s",
            ThresholdOp::Ge,
            0.0,
            ThresholdSeverity::Degraded,
        ),
        threshold(SYS_SERVICES, ThresholdOp::Eq, 72.0, ThresholdSeverity::Down),
    ];
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Down, "{o:?}");
    assert_eq!(o.error_class(), Some(ErrorClass::Assertion));
    let m = message(&o);
    assert!(
        m.contains(SYS_SERVICES) && m.contains("72") && m.contains("=="),
        "{m}"
    );
    // Not breached: up.
    let mut spec = agent.spec(v2c("public"));
    spec.oids = vec![SYS_SERVICES.into()];
    spec.thresholds = vec![threshold(
        SYS_SERVICES,
        ThresholdOp::Gt,
        1000.0,
        ThresholdSeverity::Down,
    )];
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
}

#[tokio::test]
async fn counter_rate_between_two_runs_of_one_probe() {
    let agent = start_agent();
    let mut spec = agent.spec(v2c("public"));
    spec.rates = vec![LO_IN_OCTETS.into()];
    let rate = format!("{LO_IN_OCTETS}_per_s");
    spec.thresholds = vec![SnmpThreshold {
        oid: rate.clone(),
        op: ThresholdOp::Lt,
        value: 0.0,
        severity: ThresholdSeverity::Down,
    }];
    let probe = build(spec);
    let first = run_probe(&probe, Duration::from_secs(5)).await;
    assert_eq!(first.status, CheckStatus::Up, "{first:?}\n{}", agent.log());
    assert_eq!(first.metric(&rate), None, "no rate on the first run");
    // Traffic on loopback, then runs of the same probe until the agent's interface cache
    // (a few seconds in net-snmp) shows the new counter.
    let sink = UdpSocket::bind("127.0.0.1:0").expect("sink");
    let sink_addr = sink.local_addr().expect("sink addr");
    let sender = UdpSocket::bind("127.0.0.1:0").expect("sender");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        for _ in 0..200 {
            let _ = sender.send_to(&[0u8; 1000], sink_addr);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let o = run_probe(&probe, Duration::from_secs(5)).await;
        assert_eq!(o.status, CheckStatus::Up, "{o:?}");
        if let Some(r) = o.metric(&rate) {
            if r > 0.0 {
                break;
            }
            assert!(r >= 0.0, "{o:?}");
        }
        assert!(
            Instant::now() < deadline,
            "no positive rate of {LO_IN_OCTETS} within 20 s: {o:?}"
        );
    }
}

#[tokio::test]
async fn no_such_object_is_assertion() {
    let agent = start_agent();
    let mut spec = agent.spec(v2c("public"));
    spec.oids = vec![SYS_DESCR.into(), "1.3.6.1.2.1.99.0".into()];
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Down, "{o:?}");
    assert_eq!(o.error_class(), Some(ErrorClass::Assertion), "{o:?}");
    assert!(message(&o).contains("1.3.6.1.2.1.99.0"), "{o:?}");
    // A rate on something that is not a counter is refused the same way.
    let mut spec = agent.spec(v2c("public"));
    spec.rates = vec![SYS_SERVICES.into()];
    let o = run(spec).await;
    assert_eq!(o.error_class(), Some(ErrorClass::Assertion), "{o:?}");
    assert!(message(&o).contains(SYS_SERVICES), "{o:?}");
}
