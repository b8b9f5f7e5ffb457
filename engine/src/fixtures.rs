//! Sample records for tests of the engine and of the crates built on it.
//!
//! Plain data, no I/O: shipping them in the library costs nothing and spares every test suite
//! its own copy of a valid monitor.

use netpulse_protocol::check::{ProbeSpec, TcpSpec};
use netpulse_protocol::result::{CheckResult, CheckStatus, ErrorClass, ProbeError};

use crate::alerting::{ChannelRecord, Maintenance, MaintenanceSchedule};
use crate::command::{
    AgedResult, Command, DeliveryOutcome, IncidentAction, IngestBatch, IngestItem,
    LegacyIngestBatch, NodeIngest, NodeResults, NodeSessionEvent,
};
use crate::model::{ApiKeyRecord, EdgeNode, JoinTokenRecord, Monitor, Role};
use crate::state::{Applied, State, StateError};
use crate::tables::Tables;

/// A TCP monitor named after its id, in `regions`: the fixture of state, placement and
/// publisher tests, which override the fields they are about.
pub fn test_monitor(id: &str, regions: &[&str]) -> Monitor {
    Monitor {
        id: id.into(),
        name: id.into(),
        target: "x:1".into(),
        interval_s: 30,
        timeout_s: 10,
        regions: regions.iter().map(|r| r.to_string()).collect(),
        paused: false,
        probe: ProbeSpec::Tcp(TcpSpec {
            host: "x".into(),
            port: 1,
            ..Default::default()
        }),
        revision: 1,
        created_at_ms: 0,
        updated_at_ms: 0,
        alerting: Default::default(),
    }
}

/// A node in `region`, named `n-<region>`.
pub fn test_node(region: &str) -> EdgeNode {
    EdgeNode {
        id: format!("n-{region}"),
        region: region.into(),
        labels: Default::default(),
        version: String::new(),
        token_id: "t".into(),
        enrolled_at_ms: 0,
        session: None,
        session_since_ms: 0,
        last_seen_ms: 0,
        revoked: false,
        results_stored: 0,
        results_duplicate: 0,
    }
}

/// A result of `monitor` measured at `at`; down results carry a timeout error.
pub fn test_result(seq: u64, monitor: &str, at: i64, status: CheckStatus) -> CheckResult {
    CheckResult {
        seq,
        monitor_id: monitor.into(),
        revision: 1,
        checked_at_ms: at,
        status,
        duration_us: 1000,
        error: (status == CheckStatus::Down).then(|| ProbeError {
            class: ErrorClass::Timeout,
            message: "connect timeout".into(),
        }),
        metrics: vec![("connect_ms".into(), 1.0)],
        detail: None,
        facts: vec![],
        impaired: false,
    }
}

/// Drives `state` through a scenario that touches every table: keys and tokens, nodes and
/// sessions, monitors and placement, results that take a monitor down and up again (an
/// incident, notifications, their deliveries), maintenance, ticks, deletions. Returns the
/// commands in the order applied (log index = position + 1), to replay elsewhere.
///
/// Delivery commands name the notifications the state created, so the log is built while it
/// is applied.
pub fn exercise<T: Tables + Clone>(state: &State<T>) -> Result<Vec<Command>, StateError> {
    let mut log = Vec::new();
    let run = |cmd: Command, log: &mut Vec<Command>| -> Result<Applied, StateError> {
        log.push(cmd);
        state.apply(&log[log.len() - 1], log.len() as u64)
    };
    const REGIONS: [&str; 3] = ["eu-west", "us-east", "ap-south"];
    run(
        Command::CreateApiKey(ApiKeyRecord {
            id: "key_1".into(),
            name: "admin".into(),
            secret_sha256: "00".repeat(32),
            role: Role::Admin,
            created_at_ms: 1,
        }),
        &mut log,
    )?;
    for id in ["tok_1", "tok_2"] {
        run(
            Command::CreateJoinToken(JoinTokenRecord {
                id: id.into(),
                secret_sha256: "11".repeat(32),
                description: String::new(),
                created_at_ms: 1,
                expires_at_ms: 1_000_000_000,
                revoked: false,
            }),
            &mut log,
        )?;
    }
    run(Command::RevokeJoinToken { id: "tok_2".into() }, &mut log)?;
    run(Command::AllocateCoordinatorId, &mut log)?;
    for r in REGIONS {
        run(Command::RegisterNode(test_node(r)), &mut log)?;
        run(
            Command::NodeSession(NodeSessionEvent {
                node: format!("n-{r}"),
                coordinator: Some(1),
                labels: Default::default(),
                version: "0.1.0".into(),
                at_ms: 5,
            }),
            &mut log,
        )?;
    }
    run(
        Command::PutChannel(Box::new(ChannelRecord {
            id: "ch_1".into(),
            name: "ops".into(),
            kind: "webhook".into(),
            sealed_config: "v1.sealed".into(),
            redacted_config: "{}".into(),
            route_tags: vec![],
            mesh_alerts: true,
            created_at_ms: 1,
        })),
        &mut log,
    )?;
    for id in ["mon_a", "mon_b", "mon_c"] {
        let mut m = test_monitor(id, &REGIONS);
        m.interval_s = 10;
        m.alerting.channels = vec!["ch_1".into()];
        run(
            Command::PutMonitor {
                monitor: Box::new(m),
                expect_existing: false,
            },
            &mut log,
        )?;
    }
    let placed: Vec<(String, Vec<String>)> = REGIONS
        .iter()
        .map(|r| (format!("n-{r}"), vec!["mon_a".into(), "mon_b".into()]))
        .collect();
    run(
        Command::MovePlacement {
            remove: vec![],
            add: placed,
        },
        &mut log,
    )?;
    // Up, then down everywhere (an incident and its notification), then up again.
    for (round, status) in [
        CheckStatus::Up,
        CheckStatus::Up,
        CheckStatus::Down,
        CheckStatus::Down,
        CheckStatus::Down,
        CheckStatus::Up,
        CheckStatus::Up,
    ]
    .into_iter()
    .enumerate()
    {
        let at = 10_000 + 10_000 * round as i64;
        let seq = round as u64 + 1;
        let per_node = REGIONS
            .iter()
            .map(|r| NodeIngest {
                node: format!("n-{r}"),
                sent_at_ms: Some(at + 100),
                items: ["mon_a", "mon_b"]
                    .iter()
                    .enumerate()
                    .map(|(i, m)| {
                        IngestItem::Result(AgedResult {
                            age_ms: 100,
                            result: test_result(seq * 2 + i as u64, m, at, status),
                        })
                    })
                    .collect(),
            })
            .collect();
        run(
            Command::Ingest(IngestBatch {
                received_at_ms: at + 100,
                per_node,
            }),
            &mut log,
        )?;
        run(Command::Tick { at_ms: at + 5_000 }, &mut log)?;
        for (id, _) in state.pending_notifications()? {
            run(
                Command::DeliveryAttempted {
                    id,
                    coordinator: 1,
                    at_ms: at + 5_100,
                    outcome: DeliveryOutcome::Delivered,
                },
                &mut log,
            )?;
        }
    }
    run(
        Command::OpenIncident {
            title: "Planned failover".into(),
            message: Some("moving the database".into()),
            monitor_id: Some("mon_a".into()),
            author: "ops".into(),
            at_ms: 90_000,
        },
        &mut log,
    )?;
    if let Some(inc) = state.open_incidents()?.first() {
        for action in [
            IncidentAction::Acknowledge,
            IncidentAction::Update {
                message: "halfway".into(),
            },
            IncidentAction::Resolve,
        ] {
            run(
                Command::IncidentAction {
                    id: inc.id.clone(),
                    action,
                    author: "ops".into(),
                    at_ms: 91_000,
                },
                &mut log,
            )?;
        }
    }
    run(
        Command::PutMaintenance(Box::new(Maintenance {
            id: "mw_1".into(),
            title: "patching".into(),
            monitors: vec!["mon_b".into()],
            tags: vec![],
            schedule: MaintenanceSchedule::Once {
                starts_at_ms: 100_000,
                ends_at_ms: 200_000,
            },
            created_at_ms: 1,
        })),
        &mut log,
    )?;
    run(
        Command::NodesSeen {
            coordinator: 1,
            nodes: vec!["n-eu-west".into()],
            at_ms: 95_000,
        },
        &mut log,
    )?;
    run(Command::Tick { at_ms: 150_000 }, &mut log)?;
    run(
        Command::SetRetention(crate::state::retention::Retention {
            results_ms: 3_600_000,
            hourly_ms: 86_400_000,
            daily_ms: 7 * 86_400_000,
        }),
        &mut log,
    )?;
    run(Command::Tick { at_ms: 160_000 }, &mut log)?;
    run(
        Command::MovePlacement {
            remove: vec![("n-eu-west".into(), vec!["mon_b".into()])],
            add: vec![("n-eu-west".into(), vec!["mon_c".into()])],
        },
        &mut log,
    )?;
    run(Command::DeleteMonitor { id: "mon_c".into() }, &mut log)?;
    let page = test_status_page("sp_1", "acme", &["mon_a", "mon_b"]);
    run(
        Command::PutStatusPage {
            page: Box::new(page.clone()),
            expect_existing: false,
        },
        &mut log,
    )?;
    let mut second = test_status_page("sp_2", "beta", &["mon_b"]);
    second.custom_domain = Some("status.beta.test".into());
    run(
        Command::PutStatusPage {
            page: Box::new(second),
            expect_existing: false,
        },
        &mut log,
    )?;
    run(Command::DeleteStatusPage { id: "sp_2".into() }, &mut log)?;
    let mut renamed = test_monitor("mon_b", &REGIONS);
    renamed.name = "mon_b renamed".into();
    run(
        Command::PutMonitor {
            monitor: Box::new(renamed),
            expect_existing: true,
        },
        &mut log,
    )?;
    // Commands only old logs hold, still applied as they were.
    run(
        Command::SetPlacement {
            changes: vec![("n-us-east".into(), vec!["mon_a".into()])],
        },
        &mut log,
    )?;
    run(
        Command::IngestResults(LegacyIngestBatch {
            received_at_ms: 170_000,
            per_node: vec![NodeResults {
                node: "n-us-east".into(),
                results: vec![test_result(100, "mon_a", 169_000, CheckStatus::Up)],
            }],
        }),
        &mut log,
    )?;
    run(Command::DeleteChannel { id: "ch_1".into() }, &mut log)?;
    run(Command::DeleteMaintenance { id: "mw_1".into() }, &mut log)?;
    run(
        Command::CoordinatorStarted {
            coordinator: 1,
            at_ms: 160_000,
        },
        &mut log,
    )?;
    Ok(log)
}

/// A minimal body of `kind` with `field` set to `value`.
pub fn monitor_body(
    kind: &str,
    target: &str,
    field: &str,
    value: impl Into<serde_json::Value>,
) -> serde_json::Value {
    let mut b = serde_json::json!({"name": "n", "kind": kind, "target": target, "regions": ["a"]});
    b[field] = value.into();
    b
}

/// A CA certificate (self-signed, P-256) for `ca_pem`.
pub const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBojCCAUmgAwIBAgIUW+N9ocuafSE0TBdBU/8TJdSzYK8wCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTTmV0UHVsc2UgRXhhbXBsZSBDQTAgFw0yNjExMjMwMDE0NDNa
GA8yMTI2MTAzMDAwMTQ0M1owHjEcMBoGA1UEAwwTTmV0UHVsc2UgRXhhbXBsZSBD
QTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABEuKf8V7OJJtK3Y/lT3pvI61/HpJ
so+dplQZzVDsQqpwDb22bydBR7yCIWMRZM1yg/BWCelf1NSHj0lr7FYSscSjYzBh
MB0GA1UdDgQWBBQM3ZW5I+UjQ9twdDdYXRqOFsrg8zAfBgNVHSMEGDAWgBQM3ZW5
I+UjQ9twdDdYXRqOFsrg8zAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIB
BjAKBggqhkjOPQQDAgNHADBEAiAH8eaWqzQs1euTkhIm+zNWnWf13KjV8aYsV7nd
0Wn8tgIgEMVM+Nw5EuY35WWZDw5UJEQlPN05IENrlx9blMHDZV8=
-----END CERTIFICATE-----
";

/// A full body of every kind, with every field of the kind set (secrets included), in
/// registration order.
pub fn monitor_samples() -> [(&'static str, serde_json::Value); 7] {
    use serde_json::json;
    let common = |kind: &str, target: &str| {
        json!({"name": format!("{kind} sample"), "kind": kind, "target": target,
            "interval_s": 30, "timeout_s": 5, "regions": ["eu-west", "us-east"], "paused": true,
            "confirm": 3, "recover": 2, "quorum": "60%", "alert_channels": ["ch_0a"],
            "tags": ["db", "prod"], "renotify_s": 600,
            "escalation": [{"after_s": 900, "channels": ["ch_ff"]}],
            "notify_degraded": true, "tls_expiry_warn_days": 21, "flap_threshold": 4,
            "flap_window_s": 600})
    };
    let with = |mut body: serde_json::Value, fields: serde_json::Value| {
        if let (Some(b), Some(f)) = (body.as_object_mut(), fields.as_object()) {
            b.extend(f.clone());
        }
        body
    };
    [
        (
            "http",
            with(
                common("http", "https://shop.example/health"),
                json!({"method": "POST", "headers": {"authorization": "Bearer s3cret"},
                    "body": "{\"ping\": 1}", "expect_status": [200, "3xx"],
                    "body_contains": "ok", "body_regex": "v\\d+", "json_path": "$.a[0].b",
                    "json_equals": {"x": 1}, "ca_pem": CA_PEM.trim(),
                    "follow_redirects": false, "insecure_skip_verify": true}),
            ),
        ),
        (
            "tcp",
            with(
                common("tcp", "mail.example.org:25"),
                json!({"send": "EHLO netpulse\r\n", "expect_regex": "^250"}),
            ),
        ),
        (
            "dns",
            with(
                common("dns", "example.org"),
                json!({"record_type": "MX", "nameserver": "[::1]:5353",
                    "expect": ["10 mail.example.org."], "expect_rcode": "NXDOMAIN"}),
            ),
        ),
        (
            "tls",
            with(
                common("tls", "example.org:443"),
                json!({"server_name": "api.example.org", "warn_days": 30, "critical_days": 7,
                    "ca_pem": CA_PEM.trim(), "min_version": "1.3"}),
            ),
        ),
        (
            "icmp",
            with(
                common("icmp", "gw.example.org"),
                json!({"count": 5, "packet_size": 100}),
            ),
        ),
        (
            "ssh",
            with(
                common("ssh", "[::1]:2222"),
                json!({"username": "ops",
                    "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
                    "private_key_passphrase": "pp",
                    "host_key_fingerprint": "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
                    "command": "uptime", "expect_regex": "load",
                    "extract": {"load1": "load average: ([0-9.]+)"}, "legacy_algorithms": true}),
            ),
        ),
        (
            "snmp",
            with(
                common("snmp", "switch.example.org:1161"),
                json!({"version": "v3", "user": "mon", "auth_protocol": "SHA256",
                    "auth_password": "authpass123", "priv_protocol": "AES",
                    "priv_password": "privpass123", "oids": ["1.3.6.1.2.1.1.5.0"],
                    "walk": ["1.3.6.1.2.1.2.2.1.10"], "rates": ["1.3.6.1.2.1.2.2.1.10.1"],
                    "thresholds": [{"oid": "1.3.6.1.2.1.2.2.1.10.1_per_s", "op": ">",
                        "value": 1e6, "severity": "degraded"}]}),
            ),
        ),
    ]
}

/// A status page with one component per monitor.
pub fn test_status_page(
    id: &str,
    slug: &str,
    monitors: &[&str],
) -> crate::status_pages::StatusPageRecord {
    use crate::status_pages::{PageComponent, PageOptions, StatusPageRecord};
    StatusPageRecord {
        id: id.into(),
        slug: slug.into(),
        title: format!("{slug} status"),
        description: None,
        custom_domain: None,
        components: monitors
            .iter()
            .enumerate()
            .map(|(i, m)| PageComponent {
                id: format!("cmp_{i}"),
                name: format!("Component {i}"),
                description: None,
                group: None,
                monitors: vec![(*m).to_owned()],
                created_at_ms: 0,
            })
            .collect(),
        options: PageOptions::default(),
        created_at_ms: 0,
        updated_at_ms: 0,
    }
}
