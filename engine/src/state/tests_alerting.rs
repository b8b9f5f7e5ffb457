//! Decisions, incidents and notifications applied through commands, as the Raft state machine
//! applies them: no clock, no network.

use netpulse_protocol::check::{ProbeSpec, TcpSpec};
use netpulse_protocol::result::{CheckResult, CheckStatus, ErrorClass, ProbeError};

use super::alerting::{
    ChannelRecord, DeliveryState, IncidentStatus, Maintenance, MaintenanceSchedule,
};
use super::command::{
    AgedResult, Command, DeliveryOutcome, IncidentAction, IngestBatch, IngestItem, NodeIngest,
};
use super::model::Monitor;
use super::{Changed, State};
use crate::decide::quorum::Health;
use crate::tables::{MemTables, Table};

pub(super) const REGIONS: [&str; 3] = ["eu-west", "us-east", "ap-south"];

/// A state machine with three regions' nodes, a webhook channel and monitor `mon_a`; shared
/// with the other state-machine tests.
pub(super) struct World {
    pub(super) s: State<MemTables>,
    /// What the last applied command changed.
    pub(super) changed: Changed,
    pub(super) index: u64,
    pub(super) seq: u64,
}

impl World {
    pub(super) fn new() -> Self {
        let mut w = World {
            s: State::open(MemTables::new()).expect("store"),
            changed: Changed::default(),
            index: 0,
            seq: 0,
        };
        for r in REGIONS {
            w.apply(Command::RegisterNode(crate::fixtures::test_node(r)));
        }
        w.apply(Command::PutChannel(Box::new(ChannelRecord {
            id: "ch_01".into(),
            name: "ops".into(),
            kind: "webhook".into(),
            sealed_config: "v1.sealed".into(),
            redacted_config: "{}".into(),
            route_tags: vec![],
            mesh_alerts: true,
            created_at_ms: 0,
        })));
        let mut m = monitor();
        m.alerting.channels = vec!["ch_01".into()];
        w.apply(Command::PutMonitor {
            monitor: Box::new(m),
            expect_existing: false,
        });
        w
    }

    pub(super) fn apply(&mut self, cmd: Command) -> super::command::CommandResponse {
        self.index += 1;
        let applied = self.s.apply(&cmd, self.index).expect("apply");
        self.changed = applied.changed;
        applied.response
    }

    /// One result from the node of each listed region, measured at `at` and received 100 ms later.
    pub(super) fn results(&mut self, at: i64, statuses: &[(&str, CheckStatus, bool)]) {
        let per_node = statuses
            .iter()
            .map(|(region, status, impaired)| {
                self.seq += 1;
                NodeIngest {
                    node: format!("n-{region}"),
                    sent_at_ms: Some(at + 100),
                    items: vec![IngestItem::Result(AgedResult {
                        age_ms: 100,
                        result: result(self.seq, at, *status, *impaired),
                    })],
                }
            })
            .collect();
        self.apply(Command::Ingest(IngestBatch {
            received_at_ms: at + 100,
            per_node,
        }));
    }

    pub(super) fn all(&mut self, at: i64, status: CheckStatus) {
        let s: Vec<_> = REGIONS.iter().map(|r| (*r, status, false)).collect();
        self.results(at, &s);
    }

    pub(super) fn health(&self) -> Health {
        self.s
            .monitor_health("mon_a")
            .expect("read")
            .map(|h| h.decision.health)
            .unwrap_or(Health::Unknown)
    }

    pub(super) fn notifications(&self) -> Vec<super::alerting::Notification> {
        self.s
            .table(Table::Notifications)
            .iter()
            .values()
            .map(|v| serde_json::from_slice(&v.expect("read")).expect("decode"))
            .collect()
    }
}

pub(super) fn monitor() -> Monitor {
    Monitor {
        name: "api".into(),
        target: "api:443".into(),
        interval_s: 10,
        timeout_s: 5,
        probe: ProbeSpec::Tcp(TcpSpec {
            host: "api".into(),
            port: 443,
            ..Default::default()
        }),
        revision: 0,
        ..crate::fixtures::test_monitor("mon_a", &REGIONS)
    }
}

pub(super) fn result(seq: u64, at: i64, status: CheckStatus, impaired: bool) -> CheckResult {
    CheckResult {
        seq,
        monitor_id: "mon_a".into(),
        revision: 1,
        checked_at_ms: at,
        status,
        duration_us: 1000,
        error: (status == CheckStatus::Down).then(|| ProbeError {
            class: ErrorClass::Timeout,
            message: "connect timeout".into(),
        }),
        metrics: vec![],
        detail: None,
        facts: vec![],
        impaired,
    }
}

use CheckStatus::{Down, Up};

#[test]
fn all_regions_down_opens_one_incident_and_notifies_once_then_resolves() {
    let mut w = World::new();
    w.all(10_000, Up);
    assert_eq!(w.health(), Health::Up);
    w.all(20_000, Down);
    assert_eq!(w.health(), Health::Up, "one failure is not confirmed");
    w.all(30_000, Down);
    assert_eq!(w.health(), Health::Down);
    w.all(40_000, Down);
    let incidents =
        w.s.incidents(10, |i| i.monitor_id.as_deref() == Some("mon_a"))
            .expect("incidents");
    assert_eq!(incidents.len(), 1);
    let inc = &incidents[0];
    assert_eq!(inc.status, IncidentStatus::Open);
    assert!(
        inc.summary.contains("3/3 regions failing"),
        "{}",
        inc.summary
    );
    assert!(
        inc.summary.contains("connect timeout from eu-west"),
        "{}",
        inc.summary
    );
    let n = w.notifications();
    assert_eq!(n.len(), 1, "one notification per routed channel");
    assert_eq!(n[0].event.as_str(), "monitor.down");
    assert_eq!(n[0].id, format!("{}.monitor.down.ch_01", inc.id));
    assert_eq!(w.s.pending_notifications().expect("pending").len(), 1);

    w.all(50_000, Up);
    assert_eq!(w.health(), Health::Up);
    let inc = w.s.incident(&inc.id).expect("read").expect("exists");
    assert_eq!(inc.status, IncidentStatus::Resolved);
    assert_eq!(inc.downtime_s(), Some(20));
    assert_eq!(inc.notifications.len(), 2);
    let events: Vec<String> = w
        .notifications()
        .into_iter()
        .map(|n| n.event.as_str().to_owned())
        .collect();
    assert!(events.contains(&"monitor.up".to_owned()));
}

#[test]
fn one_region_down_is_degraded_without_incident_or_alert() {
    let mut w = World::new();
    for at in [10_000, 20_000, 30_000] {
        w.results(
            at,
            &[
                ("eu-west", Down, false),
                ("us-east", Up, false),
                ("ap-south", Up, false),
            ],
        );
    }
    assert_eq!(w.health(), Health::Degraded);
    assert!(w.s.incidents(10, |_| true).expect("incidents").is_empty());
    assert!(w.notifications().is_empty());
}

#[test]
fn impaired_nodes_abstain_and_raise_the_mesh_alert_not_a_target_alert() {
    let mut w = World::new();
    w.all(10_000, Up);
    // eu-west's node lost its network: it sees everything down, but says it is impaired.
    for at in [20_000, 30_000, 40_000] {
        w.results(
            at,
            &[
                ("eu-west", Down, true),
                ("us-east", Up, false),
                ("ap-south", Up, false),
            ],
        );
    }
    assert_eq!(w.health(), Health::Up);
    assert!(w.s.incidents(10, |_| true).expect("incidents").is_empty());
    let mesh = w.s.mesh_state().expect("mesh");
    assert!(mesh.open);
    assert_eq!(mesh.regions[0].region, "eu-west");
    assert_eq!(mesh.regions[0].vote, super::alerting::RegionSaid::Impaired);
    let events: Vec<String> = w
        .notifications()
        .into_iter()
        .map(|n| n.event.as_str().to_owned())
        .collect();
    assert_eq!(events, vec!["mesh.degraded".to_owned()]);

    // Healthy again: the mesh alert closes and says so.
    w.all(50_000, Up);
    assert!(!w.s.mesh_state().expect("mesh").open);
    let mut events: Vec<String> = w
        .notifications()
        .into_iter()
        .map(|n| n.event.as_str().to_owned())
        .collect();
    events.sort();
    assert_eq!(
        events,
        vec!["mesh.degraded".to_owned(), "mesh.recovered".to_owned()]
    );
}

#[test]
fn silent_regions_go_stale_at_ticks_and_the_monitor_becomes_unknown() {
    let mut w = World::new();
    w.all(10_000, Up);
    // stale after 2 x 10 s + 5 s; only eu-west keeps reporting.
    w.results(20_000, &[("eu-west", Up, false)]);
    w.apply(Command::Tick { at_ms: 36_000 });
    assert_eq!(
        w.health(),
        Health::Unknown,
        "1 of 3 regions cannot reach a majority"
    );
    assert!(w.s.mesh_state().expect("mesh").open);
    // Even a down vote from the one remaining region does not page anyone.
    w.results(40_000, &[("eu-west", Down, false)]);
    w.results(50_000, &[("eu-west", Down, false)]);
    assert_eq!(w.health(), Health::Unknown);
    assert!(w.s.incidents(10, |_| true).expect("incidents").is_empty());
}

#[test]
fn maintenance_suppresses_alerts_but_records_state() {
    let mut w = World::new();
    w.apply(Command::PutMaintenance(Box::new(Maintenance {
        id: "mnt_1".into(),
        title: "upgrade".into(),
        monitors: vec!["mon_a".into()],
        tags: vec![],
        schedule: MaintenanceSchedule::Once {
            starts_at_ms: 15_000,
            ends_at_ms: 60_000,
        },
        created_at_ms: 0,
    })));
    w.all(10_000, Up);
    w.all(20_000, Down);
    w.all(30_000, Down);
    assert_eq!(w.health(), Health::Down, "state is still recorded");
    assert_eq!(w.s.incidents(10, |_| true).expect("incidents").len(), 1);
    let n = w.notifications();
    assert_eq!(n.len(), 1);
    assert_eq!(
        n[0].state,
        DeliveryState::Suppressed {
            reason: "maintenance".into()
        }
    );
    assert!(w.s.pending_notifications().expect("pending").is_empty());
}

#[test]
fn delivery_outcomes_settle_notifications_once() {
    let mut w = World::new();
    w.all(10_000, Down);
    w.all(20_000, Down);
    let id = w.notifications()[0].id.clone();
    w.apply(Command::DeliveryAttempted {
        id: id.clone(),
        coordinator: 1,
        at_ms: 21_000,
        outcome: DeliveryOutcome::Retry {
            error: "HTTP 500".into(),
            next_attempt_ms: 22_000,
        },
    });
    assert_eq!(
        w.s.pending_notifications().expect("pending"),
        vec![(id.clone(), 22_000)]
    );
    w.apply(Command::DeliveryAttempted {
        id: id.clone(),
        coordinator: 2,
        at_ms: 22_500,
        outcome: DeliveryOutcome::Delivered,
    });
    // The old leader reports its attempt late: logged, state unchanged.
    w.apply(Command::DeliveryAttempted {
        id: id.clone(),
        coordinator: 1,
        at_ms: 22_600,
        outcome: DeliveryOutcome::Retry {
            error: "timeout".into(),
            next_attempt_ms: 30_000,
        },
    });
    let n = w.s.notification(&id).expect("read").expect("exists");
    assert_eq!(n.state, DeliveryState::Delivered { at_ms: 22_500 });
    assert_eq!(n.attempts.len(), 3);
    assert!(w.s.pending_notifications().expect("pending").is_empty());
}

#[test]
fn reminders_and_escalation_stop_when_acknowledged() {
    let mut w = World::new();
    w.apply(Command::PutChannel(Box::new(ChannelRecord {
        id: "ch_02".into(),
        name: "boss".into(),
        kind: "email".into(),
        sealed_config: "v1.sealed".into(),
        redacted_config: "{}".into(),
        route_tags: vec![],
        mesh_alerts: false,
        created_at_ms: 0,
    })));
    let mut m = monitor();
    m.alerting.channels = vec!["ch_01".into()];
    m.alerting.renotify_s = 60;
    m.alerting.escalation = vec![super::alerting::EscalationStep {
        after_s: 120,
        channels: vec!["ch_02".into()],
    }];
    w.apply(Command::PutMonitor {
        monitor: Box::new(m),
        expect_existing: true,
    });
    w.all(10_000, Down);
    w.all(20_000, Down);
    let inc = w.s.incidents(1, |_| true).expect("incidents")[0].clone();
    for at in [25_000, 30_000, 35_000] {
        w.all(at, Down);
    }
    w.apply(Command::Tick { at_ms: 81_000 });
    w.all(85_000, Down);
    w.apply(Command::Tick { at_ms: 141_000 });
    let events: Vec<(String, String)> = w
        .notifications()
        .into_iter()
        .map(|n| (n.event.as_str().to_owned(), n.channel_id))
        .collect();
    assert!(
        events.contains(&("monitor.still_down".into(), "ch_01".into())),
        "{events:?}"
    );
    assert!(
        events.contains(&("monitor.escalation".into(), "ch_02".into())),
        "{events:?}"
    );
    let monitor_events = |w: &World| {
        w.notifications()
            .into_iter()
            .filter(|n| n.event.as_str().starts_with("monitor."))
            .count()
    };
    let before = monitor_events(&w);
    w.apply(Command::IncidentAction {
        id: inc.id.clone(),
        action: IncidentAction::Acknowledge,
        author: "alice".into(),
        at_ms: 142_000,
    });
    w.all(390_000, Down);
    w.apply(Command::Tick { at_ms: 400_000 });
    assert_eq!(
        monitor_events(&w),
        before,
        "acknowledged: no more reminders"
    );
}

#[test]
fn flapping_monitors_hold_back_alerts() {
    let mut w = World::new();
    let mut m = monitor();
    m.alerting.channels = vec!["ch_01".into()];
    m.alerting.confirm = 1;
    m.alerting.flap_threshold = 3;
    w.apply(Command::PutMonitor {
        monitor: Box::new(m),
        expect_existing: true,
    });
    let mut at = 10_000;
    for _ in 0..4 {
        w.all(at, Down);
        w.all(at + 1_000, Up);
        at += 2_000;
    }
    let states: Vec<DeliveryState> = w.notifications().into_iter().map(|n| n.state).collect();
    assert!(states
        .iter()
        .any(|s| matches!(s, DeliveryState::Suppressed { reason } if reason == "flapping")));
    assert_eq!(
        w.s.incidents(100, |_| true).expect("incidents").len(),
        4,
        "incidents still record it"
    );
    let newest: Vec<String> =
        w.s.incidents(2, |_| true)
            .expect("incidents")
            .into_iter()
            .map(|i| i.id)
            .collect();
    assert_eq!(
        newest,
        vec!["inc_4".to_owned(), "inc_3".to_owned()],
        "newest first, limited"
    );
}

#[test]
fn decisions_are_identical_on_every_replica() {
    // Two stores fed the same commands end in the same state, byte for byte.
    let mut a = World::new();
    let mut b = World::new();
    for w in [&mut a, &mut b] {
        w.all(10_000, Down);
        w.all(20_000, Down);
        w.apply(Command::Tick { at_ms: 90_000 });
        w.all(95_000, Up);
    }
    assert_eq!(a.s.export().expect("export"), b.s.export().expect("export"));
}

#[test]
fn a_region_dropped_from_the_monitor_no_longer_holds_the_mesh_alert_open() {
    let mut w = World::new();
    w.all(10_000, Up);
    w.results(20_000, &[("eu-west", Up, false), ("us-east", Up, false)]);
    w.apply(Command::Tick { at_ms: 36_000 });
    assert!(w.s.mesh_state().expect("mesh").open, "ap-south went stale");
    let mut m = monitor();
    m.regions = vec!["eu-west".into(), "us-east".into()];
    m.alerting.channels = vec!["ch_01".into()];
    w.apply(Command::PutMonitor {
        monitor: Box::new(m),
        expect_existing: true,
    });
    w.results(37_000, &[("eu-west", Up, false), ("us-east", Up, false)]);
    w.apply(Command::Tick { at_ms: 38_000 });
    assert!(!w.s.mesh_state().expect("mesh").open);
    assert_eq!(w.health(), Health::Up);
}

#[test]
fn ticks_revisit_a_monitor_only_when_a_region_can_go_stale() {
    let mut w = World::new();
    w.all(10_000, Up);
    let deadline = |w: &World| {
        w.s.monitor_health("mon_a")
            .expect("read")
            .expect("health")
            .deadline_ms
    };
    // The monitor was created at 0: its silent-region grace ends first (stale after
    // 2 x 10 s + 5 s).
    assert_eq!(deadline(&w), Some(25_001));
    w.apply(Command::Tick { at_ms: 20_000 });
    assert_eq!(deadline(&w), Some(25_001), "nothing due yet");
    w.apply(Command::Tick { at_ms: 25_001 });
    // Then the regions, whose results arrived at 10_100.
    assert_eq!(deadline(&w), Some(10_100 + 25_001));
    assert_eq!(w.health(), Health::Up);
    w.apply(Command::Tick { at_ms: 35_101 });
    assert_eq!(w.health(), Health::Unknown, "every region went stale");
    assert_eq!(deadline(&w), None, "only a result can change it now");
    assert!(w.s.table(Table::Deadlines).is_empty().expect("read"));
}
