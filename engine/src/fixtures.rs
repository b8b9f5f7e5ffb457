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
        Command::MovePlacement {
            remove: vec![("n-eu-west".into(), vec!["mon_b".into()])],
            add: vec![("n-eu-west".into(), vec!["mon_c".into()])],
        },
        &mut log,
    )?;
    run(Command::DeleteMonitor { id: "mon_c".into() }, &mut log)?;
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
