//! The shared channel compliance test: every registered channel type passes the same checks.
//!
//! It iterates over [`ChannelConfig::KINDS`] and builds each channel from
//! [`ChannelConfig::example`], so a channel added to the registration list is covered without
//! touching this file. Per channel it checks:
//!
//! - **(a) input**: a config that is not an object, a missing required field, an unknown field,
//!   and every field replaced by odd JSON (wrong types, huge strings and lists, unicode, control
//!   characters, deep nesting) is refused with an error naming that field, or accepted, but
//!   never panics; the same through `Deserialize` and through a sealed value.
//! - **(b) redaction**: no secret of the example appears in `redacted()` or in `Debug`, the
//!   redacted form keeps the same fields, and sending it back as an edit keeps the secrets.
//! - **(c) storage**: the serialized and sealed forms round-trip, the sealed form holds no
//!   secret, and a wrong key does not open it.
//! - **(d) delivery**, over real sockets (`netpulse_test_support::peers`): a temporary server failure (HTTP
//!   500, SMTP 421) is `Retryable`, a permanent one (HTTP 400, SMTP 554) is `Permanent`, a peer
//!   that accepts and never answers gives a `Retryable` error within [`SEND_TIMEOUT`] plus
//!   [`TIMEOUT_SLACK`], a refused connection is `Retryable`; no error message contains a secret,
//!   even when the server echoes the request back.

use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use netpulse_alert::channel::{Example, Transport, REDACTED, SEND_TIMEOUT};
use netpulse_alert::{
    Alert, AlertEvent, ChannelConfig, ChannelConfigError, RegionVote, SecretKey, SendError, Sender,
};
use netpulse_test_support::peers::{HttpPeer, SilentPeer, SmtpPeer};
use netpulse_test_support::ports::closed_port;
use serde_json::{json, Value};

/// How much longer than [`SEND_TIMEOUT`] a send may take against a silent peer: scheduling on a
/// loaded machine, and the e-mail channel's outer bound (five seconds over lettre's own).
const TIMEOUT_SLACK: Duration = Duration::from_secs(5);

/// A peer address for checks that never connect.
fn nowhere() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9))
}

fn example(kind: &str, peer: SocketAddr) -> Example {
    ChannelConfig::example(kind, peer).unwrap_or_else(|| panic!("{kind}: no example"))
}

/// The example of `kind`, parsed, and its secrets.
fn parsed_example(kind: &str, peer: SocketAddr) -> (ChannelConfig, &'static [&'static str]) {
    let ex = example(kind, peer);
    let cfg = ChannelConfig::parse(kind, &ex.config)
        .unwrap_or_else(|e| panic!("{kind}: example does not parse: {e}"));
    (cfg, ex.secrets)
}

/// Fails if `text` contains any of `secrets`.
fn assert_no_secret(kind: &str, what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "{kind}: {what} contains the secret {secret:?}: {text}"
        );
    }
}

/// `ChannelConfig::parse`, turning a panic into a failure that names the case.
fn parse_without_panic(
    kind: &str,
    config: &Value,
    case: &str,
) -> Result<ChannelConfig, ChannelConfigError> {
    catch_unwind(AssertUnwindSafe(|| ChannelConfig::parse(kind, config)))
        .unwrap_or_else(|_| panic!("{kind}: parse panicked on {case}"))
}

/// Values of the wrong shape, size or alphabet for any field.
fn odd_values() -> Vec<(&'static str, Value)> {
    let mut deep = json!("bottom");
    for _ in 0..64 {
        deep = json!([deep]);
    }
    vec![
        ("null", Value::Null),
        ("true", json!(true)),
        ("zero", json!(0)),
        ("a negative number", json!(-1)),
        ("a fraction", json!(1.5)),
        ("u64::MAX", json!(u64::MAX)),
        ("1e308", json!(1e308)),
        ("an empty string", json!("")),
        ("a blank string", json!(" \t\n ")),
        ("a 1 MiB string", json!("x".repeat(1 << 20))),
        ("unicode", json!("ünïcødé 🚨 \u{202e}\u{0}")),
        ("control characters", json!("a\r\nBcc: x\u{7f}")),
        ("an empty list", json!([])),
        ("a list of numbers", json!([1, 2])),
        ("a list of 10,000 strings", json!(vec!["x"; 10_000])),
        ("an object", json!({"a": 1})),
        ("64 nested lists", deep),
    ]
}

/// Whether `error` names `config.<field>` (or an element of it, `config.<field>[i]`).
fn names_field(error: &ChannelConfigError, field: &str) -> bool {
    let path = format!("config.{field}");
    error.field == path || error.field.starts_with(&format!("{path}["))
}

/// An accepted odd configuration must still be usable: shown, sealed and opened again.
fn exercise_accepted(kind: &str, cfg: &ChannelConfig, case: &str) {
    let key = SecretKey::generate();
    let result = catch_unwind(AssertUnwindSafe(|| {
        let _ = cfg.redacted();
        let _ = format!("{cfg:?}");
        ChannelConfig::from_sealed(&key, &cfg.to_sealed(&key))
    }));
    match result {
        Ok(Ok(back)) => assert_eq!(&back, cfg, "{kind}: {case}: sealing round trip"),
        Ok(Err(e)) => panic!("{kind}: {case}: accepted, but its sealed form does not open: {e}"),
        Err(_) => panic!("{kind}: {case}: accepted, then panicked when shown or sealed"),
    }
}

fn down_alert() -> Alert {
    Alert::new(
        AlertEvent::MonitorDown,
        "inc-7-down-0",
        "api.example.com is DOWN: 2/3 regions failing",
        1_795_398_514_120,
    )
    .with_monitor("mon-7", "API", "https://api.example.com/health")
    .with_incident("inc-7", 1_795_398_514_120, None, false)
    .with_region("eu-west", RegionVote::Down, Some("connect timeout".into()))
    .with_region("us-east", RegionVote::Down, Some("HTTP 503".into()))
}

#[test]
fn every_kind_has_a_usable_example() {
    let mut kinds: Vec<&str> = ChannelConfig::KINDS.to_vec();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(kinds.len(), ChannelConfig::KINDS.len(), "duplicate kind");
    assert!(ChannelConfig::example("carrier-pigeon", nowhere()).is_none());
    for kind in ChannelConfig::KINDS {
        let (cfg, secrets) = parsed_example(kind, nowhere());
        assert_eq!(cfg.kind(), *kind);
        // Without a secret the redaction, sealing and scrubbing checks would prove nothing.
        assert!(!secrets.is_empty(), "{kind}: the example names no secret");
        let full = cfg.config_json().to_string();
        for secret in secrets {
            assert!(
                secret.len() >= 8,
                "{kind}: secret {secret:?} is too short to be searched for"
            );
            assert!(
                full.contains(secret),
                "{kind}: secret {secret:?} is not in the example's config: {full}"
            );
        }
    }
}

#[test]
fn malformed_config_is_refused_naming_the_field() {
    for kind in ChannelConfig::KINDS {
        let base = example(kind, nowhere()).config;
        let Some(fields) = base.as_object() else {
            panic!("{kind}: example config is not an object")
        };

        for not_object in [json!(null), json!("x"), json!(5), json!([]), json!(true)] {
            let e = parse_without_panic(kind, &not_object, "a config that is not an object")
                .expect_err("a config that is not an object");
            assert_eq!(e.field, "config", "{kind}: {not_object}: {e}");
        }

        let e =
            parse_without_panic(kind, &json!({}), "an empty config").expect_err("an empty config");
        let named = e
            .field
            .strip_prefix("config.")
            .is_some_and(|f| fields.contains_key(f));
        assert!(named, "{kind}: {{}} should name a missing field: {e}");

        for field in fields.keys() {
            let mut config = base.clone();
            config.as_object_mut().map(|o| o.remove(field));
            let case = format!("{field} missing");
            if let Err(e) = parse_without_panic(kind, &config, &case) {
                assert!(names_field(&e, field), "{kind}: {case}: {e}");
            }
        }

        for extra in ["unexpected", "ünïcødé 🚨", &"k".repeat(10_000)] {
            let mut config = base.clone();
            config[extra] = json!(1);
            let e = parse_without_panic(kind, &config, "an unknown field")
                .expect_err("an unknown field");
            assert!(names_field(&e, extra), "{kind}: unknown field: {}", e.field);
        }

        for field in fields.keys() {
            for (what, value) in odd_values() {
                let mut config = base.clone();
                config[field] = value;
                let case = format!("{field} = {what}");
                match parse_without_panic(kind, &config, &case) {
                    Ok(cfg) => exercise_accepted(kind, &cfg, &case),
                    Err(e) => assert!(names_field(&e, field), "{kind}: {case}: {e}"),
                }
            }
        }
    }
}

#[test]
fn malformed_stored_forms_are_errors_not_panics() {
    let key = SecretKey::generate();
    for kind in ChannelConfig::KINDS {
        let base = example(kind, nowhere()).config;
        let mut odd: Vec<Value> = vec![
            json!({"type": kind}),
            json!({"type": kind, "config": null}),
            json!({"type": kind, "config": {"unexpected": true}}),
        ];
        for field in base.as_object().into_iter().flat_map(|o| o.keys()) {
            let mut config = base.clone();
            config[field] = json!([{"x": u64::MAX}]);
            odd.push(json!({"type": kind, "config": config}));
        }
        for stored in odd {
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let direct = serde_json::from_value::<ChannelConfig>(stored.clone());
                let sealed = key.seal(stored.to_string().as_bytes());
                (direct, ChannelConfig::from_sealed(&key, &sealed))
            }));
            let Ok((direct, sealed)) = outcome else {
                panic!("{kind}: decoding {stored} panicked")
            };
            assert!(direct.is_err(), "{kind}: {stored} decoded");
            assert!(sealed.is_err(), "{kind}: sealed {stored} opened");
        }
    }
}

#[test]
fn redacted_and_debug_show_no_secret() {
    for kind in ChannelConfig::KINDS {
        let (cfg, secrets) = parsed_example(kind, nowhere());
        let shown = cfg.redacted();
        let text = shown.to_string();
        assert_no_secret(kind, "redacted()", &text, secrets);
        assert_no_secret(kind, "Debug", &format!("{cfg:?}"), secrets);
        assert_no_secret(kind, "pretty Debug", &format!("{cfg:#?}"), secrets);
        assert!(text.contains(REDACTED), "{kind}: nothing redacted: {text}");

        // The same fields, only masked: the edit form shows every setting.
        let keys = |v: &Value| -> Vec<String> {
            v.as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        };
        assert_eq!(keys(&shown), keys(&cfg.config_json()), "{kind}");

        // An edit form sending the redacted values back keeps the real secrets.
        let again = ChannelConfig::parse_update(kind, &shown, &cfg)
            .unwrap_or_else(|e| panic!("{kind}: redacted form does not parse back: {e}"));
        assert_eq!(again, cfg, "{kind}: parse_update of the redacted form");
    }
}

#[test]
fn sealing_round_trips_and_hides_secrets() {
    let key = SecretKey::generate();
    for kind in ChannelConfig::KINDS {
        let (cfg, secrets) = parsed_example(kind, nowhere());

        let sealed = cfg.to_sealed(&key);
        assert_no_secret(kind, "the sealed form", &sealed, secrets);
        let opened = ChannelConfig::from_sealed(&key, &sealed)
            .unwrap_or_else(|e| panic!("{kind}: sealed form does not open: {e}"));
        assert_eq!(opened, cfg, "{kind}");
        assert!(
            ChannelConfig::from_sealed(&SecretKey::generate(), &sealed).is_err(),
            "{kind}: opened with another key"
        );
        let plain: Value = serde_json::from_slice(&key.open(&sealed).expect("opens"))
            .expect("sealed plaintext is JSON");
        assert_eq!(
            plain,
            json!({"type": kind, "config": cfg.config_json()}),
            "{kind}"
        );

        let json = serde_json::to_string(&cfg).expect("serializes");
        let back: ChannelConfig = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("{kind}: serialized form does not parse: {e}"));
        assert_eq!(back, cfg, "{kind}");
    }
}

/// Sends the example of `kind` pointed at `peer`, which must fail. Returns the error, and
/// pushes onto `failures` why there is none or which secret it leaks.
async fn send_failing(
    kind: &str,
    peer: SocketAddr,
    case: &str,
    failures: &mut Vec<String>,
) -> Option<SendError> {
    let (cfg, secrets) = parsed_example(kind, peer);
    let Err(err) = Sender::new().send(&cfg, &down_alert()).await else {
        failures.push(format!("{kind}: {case}: delivered"));
        return None;
    };
    let text = err.to_string();
    for secret in secrets.iter().filter(|s| text.contains(*s)) {
        failures.push(format!(
            "{kind}: {case}: the error contains {secret:?}: {text}"
        ));
    }
    Some(err)
}

/// What one failed send should look like.
struct Expected<'a> {
    case: &'a str,
    retryable: bool,
    /// The server's status or reply code, which the message must quote.
    code: &'a str,
}

/// Checks one failed send: the peer was contacted, the class is right, the code is quoted.
fn check_failure(
    failures: &mut Vec<String>,
    kind: &str,
    expected: Expected<'_>,
    contacted: bool,
    err: Option<SendError>,
) {
    let Expected {
        case,
        retryable,
        code,
    } = expected;
    if !contacted {
        failures.push(format!("{kind}: {case}: the peer was not contacted"));
    }
    let Some(err) = err else { return };
    if err.is_retryable() != retryable {
        failures.push(format!("{kind}: {case}: wrong class: {err}"));
    }
    if !err.message().contains(code) {
        failures.push(format!("{kind}: {case}: {code} not in the message: {err}"));
    }
}

#[tokio::test]
async fn server_failures_are_classified() {
    // Collected, so one failing channel does not hide another.
    let mut failures = Vec::new();
    for kind in ChannelConfig::KINDS {
        match example(kind, nowhere()).transport {
            Transport::Http => {
                for (status, retryable) in [(500, true), (400, false)] {
                    let peer = HttpPeer::start(status).await;
                    let case = format!("HTTP {status}");
                    let err = send_failing(kind, peer.addr(), &case, &mut failures).await;
                    let code = status.to_string();
                    let expected = Expected {
                        case: &case,
                        retryable,
                        code: &code,
                    };
                    check_failure(&mut failures, kind, expected, peer.requests() > 0, err);
                }
            }
            Transport::Smtp => {
                for (greeting, retryable) in [
                    ("421 4.3.2 busy, try again later", true),
                    ("554 5.3.2 no mail service here", false),
                ] {
                    let peer = SmtpPeer::start(greeting).await;
                    let err = send_failing(kind, peer.addr(), greeting, &mut failures).await;
                    let expected = Expected {
                        case: greeting,
                        retryable,
                        code: &greeting[..3],
                    };
                    check_failure(&mut failures, kind, expected, peer.connections() > 0, err);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn a_silent_peer_gives_a_retryable_error_within_the_timeout() {
    // All channels at once: each waits out the full timeout.
    let mut runs = tokio::task::JoinSet::new();
    for kind in ChannelConfig::KINDS {
        runs.spawn(async move {
            let mut failures = Vec::new();
            let case = "a silent peer";
            let peer = SilentPeer::start().await;
            let started = Instant::now();
            let err = send_failing(kind, peer.addr(), case, &mut failures).await;
            let took = started.elapsed();
            if peer.connections() == 0 {
                failures.push(format!("{kind}: {case}: not contacted"));
            }
            if took > SEND_TIMEOUT + TIMEOUT_SLACK {
                failures.push(format!(
                    "{kind}: {case}: gave up after {took:?}, more than {SEND_TIMEOUT:?} + \
                     {TIMEOUT_SLACK:?}"
                ));
            }
            if let Some(err) = err.filter(|e| !e.is_retryable()) {
                failures.push(format!("{kind}: {case}: not retryable: {err}"));
            }
            failures
        });
    }
    // Collected, so one slow channel does not hide another.
    let mut failures = Vec::new();
    while let Some(run) = runs.join_next().await {
        failures.extend(run.expect("the send task finished"));
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn a_refused_connection_is_retryable() {
    let mut failures = Vec::new();
    for kind in ChannelConfig::KINDS {
        let case = "a refused connection";
        let started = Instant::now();
        let err = send_failing(kind, closed_port(), case, &mut failures).await;
        if let Some(err) = err.filter(|e| !e.is_retryable()) {
            failures.push(format!("{kind}: {case}: not retryable: {err}"));
        }
        if started.elapsed() >= SEND_TIMEOUT {
            failures.push(format!("{kind}: {case}: took {:?}", started.elapsed()));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
