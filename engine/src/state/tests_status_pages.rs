//! Status pages and public incident updates, applied as the Raft state machine applies them.

use netpulse_protocol::result::CheckStatus::{Down, Up};

use super::alerting::{IncidentStatus, UpdatePhase};
use super::command::{Command, CommandResponse, IncidentAction};
use super::tests_alerting::World;
use crate::fixtures::test_status_page;

fn put(
    w: &mut World,
    page: super::status_pages::StatusPageRecord,
    replace: bool,
) -> CommandResponse {
    w.apply(Command::PutStatusPage {
        page: Box::new(page),
        expect_existing: replace,
    })
}

#[test]
fn a_slug_and_a_custom_domain_each_name_one_page() {
    let mut w = World::new();
    let mut a = test_status_page("sp_a", "acme", &["mon_a"]);
    a.custom_domain = Some("status.acme.test".into());
    assert_eq!(put(&mut w, a.clone(), false), CommandResponse::Ok);
    assert!(w.changed.pages, "page readers are woken");

    let same_slug = test_status_page("sp_b", "acme", &[]);
    assert!(
        matches!(put(&mut w, same_slug, false), CommandResponse::Conflict(m) if m.contains("slug"))
    );
    let mut same_domain = test_status_page("sp_b", "beta", &[]);
    same_domain.custom_domain = a.custom_domain.clone();
    assert!(
        matches!(put(&mut w, same_domain, false), CommandResponse::Conflict(m) if m.contains("custom domain"))
    );
    assert!(
        matches!(put(&mut w, a.clone(), false), CommandResponse::Conflict(_)),
        "create over an existing id"
    );

    // Replacing keeps the creation time and may keep its own slug and domain.
    let mut edited = a.clone();
    edited.title = "Acme".into();
    edited.created_at_ms = 99;
    assert_eq!(put(&mut w, edited, true), CommandResponse::Ok);
    let stored = w.s.status_page("sp_a").expect("read").expect("exists");
    assert_eq!((stored.title.as_str(), stored.created_at_ms), ("Acme", 0));

    let missing = test_status_page("sp_zz", "zz", &[]);
    assert!(matches!(
        put(&mut w, missing, true),
        CommandResponse::NotFound(_)
    ));
    assert_eq!(
        w.apply(Command::DeleteStatusPage { id: "sp_a".into() }),
        CommandResponse::Ok
    );
    assert!(matches!(
        w.apply(Command::DeleteStatusPage { id: "sp_a".into() }),
        CommandResponse::NotFound(_)
    ));
    assert!(w.s.status_pages().expect("read").is_empty());
    // The slug is free again.
    assert_eq!(
        put(&mut w, test_status_page("sp_b", "acme", &[]), false),
        CommandResponse::Ok
    );
}

fn publish(w: &mut World, id: &str, phase: UpdatePhase, message: &str) -> CommandResponse {
    w.apply(Command::IncidentAction {
        id: id.into(),
        action: IncidentAction::Publish {
            phase,
            message: message.into(),
        },
        author: "ops".into(),
        at_ms: 45_000,
    })
}

#[test]
fn public_updates_carry_their_phase_and_resolved_follows_the_monitor() {
    let mut w = World::new();
    for at in [10_000, 20_000, 30_000] {
        w.all(at, Down);
    }
    let inc = w.s.open_incidents().expect("read").remove(0);
    assert_eq!(
        publish(&mut w, &inc.id, UpdatePhase::Identified, "a bad deploy"),
        CommandResponse::Ok
    );
    // The monitor is still down: a public "resolved" would be a lie and is refused, whole.
    assert!(matches!(
        publish(&mut w, &inc.id, UpdatePhase::Resolved, "fixed"),
        CommandResponse::Conflict(_)
    ));
    let stored = w.s.incident(&inc.id).expect("read").expect("exists");
    assert_eq!(stored.status, IncidentStatus::Open);
    assert_eq!(stored.updates.len(), 1);
    assert_eq!(stored.updates[0].phase, Some(UpdatePhase::Identified));

    // An internal note has no phase.
    w.apply(Command::IncidentAction {
        id: inc.id.clone(),
        action: IncidentAction::Update {
            message: "paged the db team".into(),
        },
        author: "ops".into(),
        at_ms: 46_000,
    });
    let stored = w.s.incident(&inc.id).expect("read").expect("exists");
    assert_eq!(stored.updates[1].phase, None);

    w.all(50_000, Up);
    assert_eq!(
        publish(&mut w, &inc.id, UpdatePhase::Resolved, "all good"),
        CommandResponse::Ok
    );
    let stored = w.s.incident(&inc.id).expect("read").expect("exists");
    assert_eq!(stored.status, IncidentStatus::Resolved);
    assert_eq!(
        stored.updates.last().and_then(|u| u.phase),
        Some(UpdatePhase::Resolved)
    );
}

#[test]
fn publishing_resolved_resolves_a_manual_incident() {
    let mut w = World::new();
    let id = match w.apply(Command::OpenIncident {
        title: "Degraded logins".into(),
        message: Some("Looking into slow logins".into()),
        monitor_id: Some("mon_a".into()),
        author: "ops".into(),
        at_ms: 1_000,
    }) {
        CommandResponse::Created(id) => id,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        publish(&mut w, &id, UpdatePhase::Resolved, "Logins are fast again"),
        CommandResponse::Ok
    );
    let stored = w.s.incident(&id).expect("read").expect("exists");
    assert_eq!(stored.status, IncidentStatus::Resolved);
    assert_eq!(stored.resolved_at_ms, Some(45_000));
}

#[test]
fn a_component_names_the_regions_that_fail_it_and_follows_the_quorum() {
    use crate::decide::public::{DayLevel, PublicStatus};
    use netpulse_protocol::result::CheckStatus;
    let mut w = World::new();
    let monitors = vec!["mon_a".to_owned(), "mon_gone".to_owned()];
    let one_down = [
        ("eu-west", CheckStatus::Down, false),
        ("us-east", CheckStatus::Up, false),
        ("ap-south", CheckStatus::Up, false),
    ];
    for at in [10_000, 20_000, 30_000] {
        w.results(at, &one_down);
    }
    let now = w.s.component_now(&monitors, 31_000).expect("read");
    assert_eq!(
        now.status,
        PublicStatus::Degraded,
        "one region of three is no outage"
    );
    assert_eq!(
        (now.failing.as_slice(), now.voting),
        (&["eu-west".to_owned()][..], 3)
    );

    for at in [40_000, 50_000, 60_000] {
        w.all(at, Down);
    }
    let now = w.s.component_now(&monitors, 61_000).expect("read");
    assert_eq!(now.status, PublicStatus::MajorOutage);
    assert_eq!(now.failing, vec!["ap-south", "eu-west", "us-east"]);
    assert!(now.since_ms >= 50_000, "{}", now.since_ms);

    let h = w.s.component_history(&monitors, 3, 100_000).expect("read");
    assert_eq!(h.days.len(), 3);
    assert_eq!(
        h.days[0].level,
        DayLevel::NoData,
        "before the monitor existed"
    );
    let today = &h.days[2];
    assert_eq!(today.start_ms, 0);
    assert!(today.partial);
    assert_eq!(today.level, DayLevel::Major, "{:?}", today.states);
    assert!(today.states.down > 0 && today.states.degraded > 0);
    let day_uptime = h.uptime[0].expect("counted time");
    assert!(day_uptime < 100.0 && day_uptime > 0.0, "{day_uptime}");
    assert_eq!(h.latency.len(), 24);
    assert!(
        h.latency.last().and_then(|p| p.1).is_some(),
        "this hour's checks have a median"
    );
}
