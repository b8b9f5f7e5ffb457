//! The contract every registered probe kind keeps, checked over [`Probe::KINDS`] so that a new
//! kind is covered as soon as it is registered (and fails here until it has a [`fixture`]):
//!
//! - **Never panics.** Built from odd specs (every field of the kind's spec replaced in turn by
//!   empty, huge, unicode, malformed, out-of-range and non-routable values), `build` may refuse
//!   with an error but returns; a built probe's `run` returns an outcome, also against a peer
//!   that echoes every byte back.
//! - **Honours its timeout.** Against a local peer that never answers (a TCP listener that
//!   accepts and stays silent, a UDP socket that never replies, loopback with ICMP echo ignored)
//!   the outcome is down with [`ErrorClass::Timeout`] and arrives within the timeout plus slack.
//!   Real sockets rule out tokio's paused clock, so the bound is generous ([`SLACK`]).
//! - **Error class set.** Every outcome that is not up carries an error with a class and a
//!   message; an up outcome carries none.
//! - **No secret in any message.** Each kind's secret fields (passwords, passphrases, keys,
//!   communities, header values, URL credentials) hold [`SECRET`]; the probe is made to fail
//!   (silent peer, refused port, a peer echoing the request back, invalid specs) and the secret
//!   must appear nowhere in the build error, the outcome's message, detail, metric names or
//!   facts, nor in the probe's `Debug`.
//!
//! Everything runs in a private network namespace (see [`in_netns`]) holding only loopback, so
//! whatever an odd spec names (a public host name, a broadcast address), no packet leaves the
//! machine. This needs root, like the ICMP tests in `probes_real.rs`.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use netpulse_probes::{Probe, ProbeContext, ProbeOutcome};
use netpulse_protocol::check::{
    DnsRecordType, DnsSpec, Endpoint, HttpSpec, IcmpSpec, ProbeSpec, SnmpAuthProtocol,
    SnmpPrivProtocol, SnmpSpec, SnmpVersion, SshAuth, SshSpec, TcpSpec, TlsSpec, TlsVersion,
};
use netpulse_protocol::result::{CheckStatus, ErrorClass};
use netpulse_test_support::peers;
use netpulse_test_support::ports::free_port_on;
use netpulse_test_support::process::require;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// The secret every fixture puts in its kind's secret fields; distinctive enough that finding
/// it anywhere in an outcome can only mean a leak.
const SECRET: &str = "NpSecret-7f3aQ9zK";

/// Timeout of the runs that check the timeout.
const TIMEOUT: Duration = Duration::from_secs(1);

/// Timeout of the odd-spec and secret runs: long enough to get past connect on loopback.
const SHORT: Duration = Duration::from_millis(500);

/// How late past its timeout a run may return: real sockets on a loaded two-core machine, so
/// generous; a kind that ignores its timeout overshoots by far more.
const SLACK: Duration = Duration::from_secs(5);

/// How the fixture's local peer stays silent for a kind.
#[derive(Debug, Clone, Copy)]
enum Silent {
    /// A TCP listener that accepts and never reads or writes.
    Tcp,
    /// A UDP socket that never replies.
    Udp,
    /// Loopback, in a namespace where the kernel ignores ICMP echo requests.
    Icmp,
}

/// What the compliance test needs to know about one kind.
struct Fixture {
    /// Valid specs of the kind aimed at `127.0.0.1:<port>`, with [`SECRET`] in every field
    /// that holds a secret (one spec per way of holding one, e.g. SSH's auth methods).
    specs: fn(port: u16) -> Vec<ProbeSpec>,
    /// Which local peer never answers this kind.
    silent: Silent,
    /// Specs that `build` must refuse, with [`SECRET`] in a secret field: the build error must
    /// not quote it. Empty for kinds without secrets.
    invalid: fn(port: u16) -> Vec<ProbeSpec>,
}

/// No invalid specs: for kinds without secrets, whose build errors the odd specs exercise.
fn none(_port: u16) -> Vec<ProbeSpec> {
    Vec::new()
}

/// The fixture of every registered kind. A kind added to the registration list without a
/// fixture fails [`every_registered_kind_has_a_fixture`] with a message saying what to add.
fn fixture(kind: &str) -> Fixture {
    match kind {
        "http" => Fixture {
            specs: |port| {
                let mut spec = HttpSpec::get(format!("http://probe:{SECRET}@127.0.0.1:{port}/"));
                spec.method = "POST".into();
                spec.headers = vec![
                    ("Authorization".into(), format!("Bearer {SECRET}")),
                    ("X-Api-Key".into(), SECRET.into()),
                ];
                spec.body = Some(format!("{{\"password\":\"{SECRET}\"}}"));
                spec.body_contains = Some("ok".into());
                vec![ProbeSpec::Http(spec)]
            },
            silent: Silent::Tcp,
            invalid: |port| {
                // A value with a line break is refused; the error names the header only.
                let mut spec = HttpSpec::get(format!("http://127.0.0.1:{port}/"));
                spec.headers = vec![("Authorization".into(), format!("Basic {SECRET}\r\nX: y"))];
                vec![ProbeSpec::Http(spec)]
            },
        },
        // Waits for a banner, so a silent peer is a timeout and not a successful connect.
        "tcp" => Fixture {
            specs: |port| {
                vec![ProbeSpec::Tcp(TcpSpec {
                    host: "127.0.0.1".into(),
                    port,
                    send: Some("HELLO\r\n".into()),
                    expect_regex: Some("^220 ".into()),
                })]
            },
            silent: Silent::Tcp,
            invalid: none,
        },
        "dns" => Fixture {
            specs: |port| {
                vec![ProbeSpec::Dns(DnsSpec {
                    name: "example.test".into(),
                    record_type: DnsRecordType::A,
                    nameserver: Some(Endpoint {
                        host: "127.0.0.1".into(),
                        port,
                    }),
                    expect: vec!["192.0.2.1".into()],
                    expect_rcode: 0,
                })]
            },
            silent: Silent::Udp,
            invalid: none,
        },
        "tls" => Fixture {
            specs: |port| {
                vec![ProbeSpec::Tls(TlsSpec {
                    host: "127.0.0.1".into(),
                    port,
                    server_name: Some("localhost".into()),
                    warn_days: 14,
                    critical_days: 3,
                    ca_pem: None,
                    min_version: TlsVersion::Tls12,
                })]
            },
            silent: Silent::Tcp,
            invalid: none,
        },
        "icmp" => Fixture {
            specs: |_| {
                vec![ProbeSpec::Icmp(IcmpSpec {
                    host: "127.0.0.1".into(),
                    count: 2,
                    packet_size: 56,
                })]
            },
            silent: Silent::Icmp,
            invalid: none,
        },
        "ssh" => Fixture {
            specs: |port| {
                let spec = |auth| ssh_spec(port, auth);
                vec![
                    spec(SshAuth::Password(SECRET.into())),
                    spec(SshAuth::KeyboardInteractive(SECRET.into())),
                    spec(SshAuth::PrivateKey {
                        pem: encrypted_key().to_owned(),
                        passphrase: Some(SECRET.into()),
                    }),
                ]
            },
            silent: Silent::Tcp,
            invalid: |port| {
                let spec = |auth| ssh_spec(port, auth);
                vec![
                    // A key that does not decode, holding the secret.
                    spec(SshAuth::PrivateKey {
                        pem: format!(
                            "-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n\
                             -----END OPENSSH PRIVATE KEY-----\n"
                        ),
                        passphrase: Some(SECRET.into()),
                    }),
                    // A good key with the wrong passphrase (the secret with a suffix).
                    spec(SshAuth::PrivateKey {
                        pem: encrypted_key().to_owned(),
                        passphrase: Some(format!("{SECRET}-wrong")),
                    }),
                ]
            },
        },
        "snmp" => Fixture {
            specs: |port| {
                let spec = |version| {
                    ProbeSpec::Snmp(SnmpSpec {
                        host: "127.0.0.1".into(),
                        port,
                        version,
                        oids: vec!["1.3.6.1.2.1.1.5.0".into()],
                        walk: vec!["1.3.6.1.2.1.2.2.1.10".into()],
                        thresholds: Vec::new(),
                        rates: vec!["1.3.6.1.2.1.2.2.1.10.1".into()],
                    })
                };
                vec![
                    spec(SnmpVersion::V2c {
                        community: SECRET.into(),
                    }),
                    spec(SnmpVersion::V3 {
                        user: "probe".into(),
                        auth: Some((SnmpAuthProtocol::Sha256, SECRET.into())),
                        privacy: Some((SnmpPrivProtocol::Aes, SECRET.into())),
                    }),
                ]
            },
            silent: Silent::Udp,
            invalid: |port| {
                // Privacy without authentication is refused.
                vec![ProbeSpec::Snmp(SnmpSpec {
                    host: "127.0.0.1".into(),
                    port,
                    version: SnmpVersion::V3 {
                        user: "probe".into(),
                        auth: None,
                        privacy: Some((SnmpPrivProtocol::Aes, SECRET.into())),
                    },
                    oids: vec!["1.3.6.1.2.1.1.5.0".into()],
                    walk: Vec::new(),
                    thresholds: Vec::new(),
                    rates: Vec::new(),
                })]
            },
        },
        other => panic!(
            "probe kind {other:?} is registered but has no compliance fixture: add an arm to \
             `fixture` in probes/tests/compliance.rs (specs aimed at a local port, its secrets, \
             which silent peer it times out against)"
        ),
    }
}

/// An SSH spec for `127.0.0.1:port` that logs in with `auth` and runs `true`.
fn ssh_spec(port: u16, auth: SshAuth) -> ProbeSpec {
    ProbeSpec::Ssh(SshSpec {
        host: "127.0.0.1".into(),
        port,
        username: "probe".into(),
        auth,
        host_key_fingerprint: None,
        command: Some("true".into()),
        expect_regex: None,
        extract: Vec::new(),
        legacy_algorithms: false,
    })
}

/// An OpenSSH private key encrypted with [`SECRET`] as its passphrase, made once by
/// `ssh-keygen`. One KDF round instead of the default 16: decoding is CPU work done by
/// `build`, and the odd-spec test builds this key hundreds of times.
fn encrypted_key() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("key");
        let status = std::process::Command::new(require("ssh-keygen", "openssh-client"))
            .args([
                "-q",
                "-t",
                "ed25519",
                "-a",
                "1",
                "-C",
                "compliance",
                "-N",
                SECRET,
            ])
            .arg("-f")
            .arg(&path)
            .status()
            .expect("ssh-keygen");
        assert!(status.success(), "ssh-keygen failed");
        std::fs::read_to_string(&path).expect("read the key")
    })
}

fn ctx() -> ProbeContext {
    ProbeContext::for_node("compliance", "n-compliance")
}

// ---------------------------------------------------------------------------------------------
// The tests

#[test]
fn every_registered_kind_has_a_fixture() {
    assert!(!Probe::KINDS.is_empty());
    for kind in Probe::KINDS {
        let specs = (fixture(kind).specs)(9);
        assert!(!specs.is_empty(), "{kind}: no specs");
        for spec in specs {
            assert_eq!(spec.kind(), *kind, "{kind}: fixture spec of another kind");
            // Built in the namespace: ICMP opens the node's sockets there.
            let built =
                in_netns(move || async move { Probe::build(&spec, &ctx()).map(|p| p.kind()) });
            assert_eq!(built, Ok(*kind), "{kind}: fixture spec must build");
        }
    }
}

#[test]
fn odd_specs_never_panic_and_every_failure_has_a_class() {
    for kind in Probe::KINDS {
        let checked = in_netns(move || async move {
            let echo = EchoPeer::start().await;
            let odd: Vec<ProbeSpec> = (fixture(kind).specs)(echo.port)
                .iter()
                .flat_map(odd_variants)
                .collect();
            let total = odd.len();
            let mut failures = Vec::new();
            let mut built = Vec::new();
            for spec in &odd {
                match check_build(spec) {
                    Ok(Some(probe)) => built.push((probe, spec_label(spec))),
                    Ok(None) => {}
                    Err(e) => failures.push(e),
                }
            }
            let run_failures: Vec<String> = futures::stream::iter(built)
                .map(|(probe, label)| async move { check_run(probe, label, SHORT).await.err() })
                .buffer_unordered(32)
                .filter_map(|f| async move { f })
                .collect()
                .await;
            failures.extend(run_failures);
            assert!(
                failures.is_empty(),
                "{kind}: {} of {total} odd specs broke the contract:\n{}",
                failures.len(),
                failures.join("\n")
            );
            total
        });
        println!("{kind}: {checked} odd specs");
        assert!(checked > 10, "{kind}: too few odd specs ({checked})");
    }
}

#[test]
fn a_silent_peer_is_a_timeout_within_the_timeout() {
    for kind in Probe::KINDS {
        let fixture = fixture(kind);
        let outcomes = in_netns(move || async move {
            let silent = SilentPeer::start(fixture.silent).await;
            let mut outcomes = Vec::new();
            for spec in (fixture.specs)(silent.port()) {
                let probe = Probe::build(&spec, &ctx()).expect("fixture spec builds");
                let start = Instant::now();
                let outcome = probe.run(TIMEOUT).await;
                outcomes.push((outcome, start.elapsed()));
            }
            drop(silent);
            outcomes
        });
        for (o, elapsed) in outcomes {
            println!("{kind}: {elapsed:?} {o:?}");
            assert_eq!(o.status, CheckStatus::Down, "{kind}: {o:?}");
            assert_eq!(o.error_class(), Some(ErrorClass::Timeout), "{kind}: {o:?}");
            assert!(
                elapsed < TIMEOUT + SLACK,
                "{kind}: returned after {elapsed:?} with a {TIMEOUT:?} timeout"
            );
            assert!(
                o.duration <= elapsed && o.duration >= TIMEOUT.mul_f64(0.5),
                "{kind}: duration {:?} for a run of {elapsed:?}",
                o.duration
            );
        }
    }
}

/// The fixtures' specs, whose secret fields hold [`SECRET`], made to fail in every way a
/// local peer can: silent, refused, echoing the request back; and the kind's invalid specs.
/// (The odd-spec test checks the same on every odd variant of these specs.)
#[test]
fn no_secret_in_any_message() {
    for kind in Probe::KINDS {
        let fixture = fixture(kind);
        let (checked, failures) = in_netns(move || async move {
            let silent = SilentPeer::start(fixture.silent).await;
            let echo = EchoPeer::start().await;
            let refused = closed_port();
            let mut specs = Vec::new();
            for port in [silent.port(), echo.port, refused] {
                specs.extend((fixture.specs)(port));
            }
            let invalid = (fixture.invalid)(echo.port);
            let mut failures = Vec::new();
            for spec in &invalid {
                if Probe::build(spec, &ctx()).is_ok() {
                    failures.push(format!("builds but should not: {}", spec_label(spec)));
                }
            }
            specs.extend(invalid);
            let checked = specs.len();
            for spec in &specs {
                if let Err(e) = check_spec(spec, SHORT).await {
                    failures.push(e);
                }
            }
            (checked, failures)
        });
        assert!(
            failures.is_empty(),
            "{kind}: {} of {checked} runs broke the contract:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}

/// The checks above pass only if [`check_outcome`] can fail: each broken outcome is caught.
#[test]
fn the_outcome_check_catches_each_breach() {
    let fine = ProbeOutcome::down(
        ErrorClass::Refused,
        "refused",
        vec![("connect_ms".into(), 1.0)],
    );
    assert_eq!(check_outcome(&fine), Ok(()));
    assert_eq!(check_outcome(&ProbeOutcome::up(Vec::new())), Ok(()));
    let mut up_with_error = fine.clone();
    up_with_error.status = CheckStatus::Up;
    let mut down_without_class = fine.clone();
    down_without_class.error = None;
    let mut degraded_without_class = down_without_class.clone();
    degraded_without_class.status = CheckStatus::Degraded;
    let broken = [
        up_with_error,
        down_without_class,
        degraded_without_class,
        ProbeOutcome::down(ErrorClass::Auth, " ", Vec::new()),
        ProbeOutcome::down(
            ErrorClass::Auth,
            format!("password {SECRET} rejected"),
            Vec::new(),
        ),
        fine.clone()
            .with_detail(format!("sent Authorization: Bearer {SECRET}")),
        ProbeOutcome::down(ErrorClass::Auth, "x", vec![(format!("{SECRET}_ms"), 1.0)]),
        fine.clone().with_fact("community", SECRET),
    ];
    for o in broken {
        assert!(check_outcome(&o).is_err(), "not caught: {o:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// One spec against the contract

/// Builds and runs `spec`, and says what broke the contract, if anything: a panic, an outcome
/// without an error class, a run past its timeout, or [`SECRET`] somewhere it can be read.
async fn check_spec(spec: &ProbeSpec, timeout: Duration) -> Result<(), String> {
    match check_build(spec)? {
        Some(probe) => check_run(probe, spec_label(spec), timeout).await,
        None => Ok(()),
    }
}

/// Builds `spec` and checks the build's part of the contract; `None` when the build refused it
/// (properly). Synchronous, as `build` is: runs are timed apart from builds, which may do CPU
/// work (decoding a private key) that would stall concurrent runs on the same thread.
fn check_build(spec: &ProbeSpec) -> Result<Option<Probe>, String> {
    let label = spec_label(spec);
    let built = std::panic::catch_unwind(|| Probe::build(spec, &ctx()))
        .map_err(|p| format!("build panicked ({}): {label}", panic_text(&p)))?;
    let probe = match built {
        Ok(probe) => probe,
        Err(e) => {
            let text = e.to_string();
            return if text.contains(SECRET) {
                Err(format!("build error quotes the secret ({text}): {label}"))
            } else {
                Ok(None)
            };
        }
    };
    if probe.kind() != spec.kind() {
        return Err(format!("built as {}: {label}", probe.kind()));
    }
    if format!("{probe:?}").contains(SECRET) {
        return Err(format!("the probe's Debug shows the secret: {label}"));
    }
    Ok(Some(probe))
}

/// Runs a built probe once and checks the outcome's part of the contract.
async fn check_run(probe: Probe, label: String, timeout: Duration) -> Result<(), String> {
    let start = Instant::now();
    let outcome = AssertUnwindSafe(probe.run(timeout))
        .catch_unwind()
        .await
        .map_err(|p| format!("run panicked ({}): {label}", panic_text(&p)))?;
    let elapsed = start.elapsed();
    if elapsed > timeout + SLACK {
        return Err(format!(
            "returned after {elapsed:?} with a {timeout:?} timeout: {label}"
        ));
    }
    check_outcome(&outcome).map_err(|e| format!("{e}: {label} -> {outcome:?}"))
}

/// The invariants of one outcome: an error (with a message) exactly when it is not up, and
/// the secret nowhere.
fn check_outcome(o: &ProbeOutcome) -> Result<(), String> {
    match (&o.status, &o.error) {
        (CheckStatus::Up, Some(_)) => return Err("up with an error".into()),
        (CheckStatus::Up, None) => {}
        (_, None) => return Err("a failure without an error class".into()),
        (_, Some(e)) if e.message.trim().is_empty() => {
            return Err(format!("class {:?} without a message", e.class))
        }
        (_, Some(_)) => {}
    }
    let texts = o
        .error
        .iter()
        .map(|e| e.message.as_str())
        .chain(o.detail.as_deref())
        .chain(o.metrics.iter().map(|(name, _)| name.as_str()))
        .chain(o.facts.iter().flat_map(|(n, v)| [n.as_str(), v.as_str()]));
    for text in texts {
        if text.contains(SECRET) {
            return Err(format!("the secret is in {text:?}"));
        }
    }
    Ok(())
}

/// A spec for a failure message: its kind and JSON, long strings cut, the secret masked (the
/// message of a failing test is not the place to print it either).
fn spec_label(spec: &ProbeSpec) -> String {
    let json = serde_json::to_string(spec).unwrap_or_else(|e| format!("<{e}>"));
    let json = json.replace(SECRET, "<SECRET>");
    let cut: String = json.chars().take(300).collect();
    if cut.len() < json.len() {
        format!("{} {cut}...", spec.kind())
    } else {
        format!("{} {cut}", spec.kind())
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".into())
}

// ---------------------------------------------------------------------------------------------
// Odd specs, derived from any kind's spec through its JSON form

/// Every spec obtained by replacing one value of `base` (at any depth) with an odd one, that
/// still deserializes as a `ProbeSpec`. Working on the JSON form covers any kind's fields,
/// including those added later, without a list per kind.
fn odd_variants(base: &ProbeSpec) -> Vec<ProbeSpec> {
    let json = serde_json::to_value(base).expect("a spec serializes");
    let mut paths = Vec::new();
    leaf_paths(&json, &mut Vec::new(), &mut paths);
    let mut out = Vec::new();
    for path in paths {
        let Some(current) = pointer(&json, &path).cloned() else {
            continue;
        };
        for odd in odd_values(&current) {
            let mut v = json.clone();
            if let Some(slot) = pointer_mut(&mut v, &path) {
                *slot = odd;
            }
            if let Ok(spec) = serde_json::from_value::<ProbeSpec>(v) {
                out.push(spec);
            }
        }
    }
    out
}

/// One step into a JSON value.
#[derive(Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// The paths of every value worth replacing: leaves, and arrays as a whole.
fn leaf_paths(v: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                at.push(Step::Key(k.clone()));
                leaf_paths(child, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            out.push(at.clone());
            for (i, child) in items.iter().enumerate() {
                at.push(Step::Index(i));
                leaf_paths(child, at, out);
                at.pop();
            }
        }
        _ => out.push(at.clone()),
    }
}

fn pointer<'a>(v: &'a Value, path: &[Step]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, step| match step {
        Step::Key(k) => v.get(k),
        Step::Index(i) => v.get(i),
    })
}

fn pointer_mut<'a>(v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, step| match step {
        Step::Key(k) => v.get_mut(k),
        Step::Index(i) => v.get_mut(i),
    })
}

/// Odd replacements for one value, by its JSON type. Hosts and names among them stay
/// harmless because the runs happen in a namespace with only loopback.
fn odd_values(v: &Value) -> Vec<Value> {
    let strings = [
        String::new(),
        " ".into(),
        "\0".into(),
        "\r\nX-Injected: 1".into(),
        "ünïcödé-💥.例え.テスト".into(),
        "x".repeat(70_000),
        "a.".repeat(200),
        "[".into(),
        "[::1".into(),
        "::".into(),
        "::1".into(),
        "0.0.0.0".into(),
        "255.255.255.255".into(),
        "fe80::1%nonexistent0".into(),
        "127.0.0.1:99999".into(),
        "-1".into(),
        "1.3.6.1.2.1.1.5.0.99999999999999999999999".into(),
        ".1..3.".into(),
        "http://".into(),
        "https://[::1]:0/".into(),
        "*(".into(),
        "$.a[".into(),
        "public.example".into(),
    ];
    match v {
        Value::String(_) | Value::Null => strings
            .into_iter()
            .map(Value::String)
            .chain(
                // `null` for an option; numbers where a string was are refused by serde.
                [Value::Null, Value::from(0)],
            )
            .collect(),
        Value::Number(_) => [
            Value::from(0),
            Value::from(1),
            Value::from(255),
            Value::from(65_535),
            Value::from(u32::MAX),
            Value::from(u64::MAX),
            Value::from(-1),
            Value::from(0.5),
            Value::from(f64::MAX),
            Value::from(f64::MIN_POSITIVE),
        ]
        .into_iter()
        .collect(),
        Value::Bool(b) => vec![Value::Bool(!b)],
        Value::Array(items) => {
            let mut many = Vec::new();
            if let Some(first) = items.first() {
                many = vec![first.clone(); 1_000];
            }
            vec![Value::Array(Vec::new()), Value::Array(many)]
        }
        Value::Object(_) => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Local peers

/// A TCP listener and a UDP socket on one port of 127.0.0.1 that send back whatever they
/// receive: every protocol's request comes back as its answer, secrets included, which is the
/// peer most likely to make a probe quote something it should not.
struct EchoPeer {
    port: u16,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl EchoPeer {
    async fn start() -> EchoPeer {
        let (tcp, udp) = tcp_and_udp_on_one_port().await;
        let port = tcp.local_addr().expect("local addr").port();
        let tcp_task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = tcp.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n @ 1..) = stream.read(&mut buf).await {
                        if stream.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let udp_task = tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok((n, from)) = udp.recv_from(&mut buf).await {
                let _ = udp.send_to(&buf[..n], from).await;
            }
        });
        EchoPeer {
            port,
            tasks: vec![tcp_task, udp_task],
        }
    }
}

impl Drop for EchoPeer {
    fn drop(&mut self) {
        self.tasks.iter().for_each(|t| t.abort());
    }
}

/// A peer that never answers, of the kind a fixture asks for.
enum SilentPeer {
    /// Accepts and holds connections, never reads or writes.
    Tcp(peers::SilentPeer),
    /// Reads datagrams and drops them, so the sender sees no "port unreachable" either.
    Udp {
        port: u16,
        task: tokio::task::JoinHandle<()>,
    },
    /// The namespace ignores echo requests (see `in_netns`).
    Icmp,
}

impl SilentPeer {
    async fn start(kind: Silent) -> SilentPeer {
        match kind {
            Silent::Tcp => SilentPeer::Tcp(peers::SilentPeer::start().await),
            Silent::Udp => {
                let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
                let port = socket.local_addr().expect("local addr").port();
                let task = tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while socket.recv_from(&mut buf).await.is_ok() {}
                });
                SilentPeer::Udp { port, task }
            }
            Silent::Icmp => SilentPeer::Icmp,
        }
    }

    /// The port it holds (0 for ICMP).
    fn port(&self) -> u16 {
        match self {
            SilentPeer::Tcp(peer) => peer.addr().port(),
            SilentPeer::Udp { port, .. } => *port,
            SilentPeer::Icmp => 0,
        }
    }
}

impl Drop for SilentPeer {
    fn drop(&mut self) {
        if let SilentPeer::Udp { task, .. } = self {
            task.abort();
        }
    }
}

/// A port of 127.0.0.1 closed for both TCP and UDP at the time of the call.
fn closed_port() -> u16 {
    free_port_on(&["127.0.0.1"], &["127.0.0.1"])
}

async fn tcp_and_udp_on_one_port() -> (TcpListener, UdpSocket) {
    for _ in 0..50 {
        let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind tcp");
        let addr: SocketAddr = tcp.local_addr().expect("local addr");
        if let Ok(udp) = UdpSocket::bind(addr).await {
            return (tcp, udp);
        }
    }
    panic!("no port free for both TCP and UDP");
}

// ---------------------------------------------------------------------------------------------
// The namespace

/// Runs `body` on a runtime whose threads live in a private network namespace: only loopback,
/// up, with ICMP echo requests ignored (so loopback is the silent ICMP peer). One namespace
/// for the whole test binary: the node's ICMP sockets ([`netpulse_probes::icmp::IcmpSockets`])
/// are opened once per process, by the thread that builds the first ICMP probe, and that is
/// always one of this runtime's threads.
fn in_netns<F, Fut, T>(body: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    static RUNTIME: OnceLock<tokio::runtime::Handle> = OnceLock::new();
    let handle = RUNTIME.get_or_init(netns_runtime).clone();
    // The task is created on a runtime thread too: `spawn` only queues it.
    match futures::executor::block_on(handle.spawn(async move { body().await })) {
        Ok(v) => v,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("compliance task failed: {e}"),
    }
}

fn netns_runtime() -> tokio::runtime::Handle {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        panic!("the compliance test needs root (network namespaces, ICMP); run the tests as root");
    }
    let ip = require("ip", "iproute2");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("compliance-netns".into())
        .spawn(move || {
            // SAFETY: unshare affects only this thread, which owns nothing shared yet; the
            // runtime's threads, started below, inherit its namespace.
            let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
            assert_eq!(
                rc,
                0,
                "unshare(CLONE_NEWNET): {}",
                std::io::Error::last_os_error()
            );
            let up = std::process::Command::new(&ip)
                .args(["link", "set", "lo", "up"])
                .status()
                .expect("ip");
            assert!(up.success(), "ip link set lo up failed");
            for sysctl in [
                "/proc/sys/net/ipv4/icmp_echo_ignore_all",
                "/proc/sys/net/ipv6/icmp/echo_ignore_all",
            ] {
                // The IPv6 one is missing on older kernels; the fixtures ping IPv4.
                let _ = std::fs::write(sysctl, "1");
            }
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            tx.send(rt.handle().clone()).expect("test thread waits");
            // Lives as long as the test binary.
            rt.block_on(std::future::pending::<()>());
        })
        .expect("spawn the namespace thread");
    rx.recv().expect("namespace runtime")
}
