//! A realistic page to render: three named groups and the ungrouped components, incidents in
//! every phase (two active, one resolved yesterday, one with a postmortem, one older than the
//! history window), a maintenance in progress, one upcoming and one completed, a component that
//! started being monitored ten days into the bars (no-data days), a day without data in the
//! middle, partial days and a latency series with gaps.
//!
//! All times derive from [`NOW`] (Thursday 3 Dec 2026, 21:32:41.123 UTC).

use crate::model::*;

/// When the view was generated: 2026-12-03T21:32:41.123Z.
pub const NOW: i64 = 1_796_333_561_123;
/// 2026-12-03T00:00:00Z.
pub const TODAY: i64 = 1_796_256_000_000;
pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;
/// Seconds of today observed by [`NOW`].
const TODAY_S: i64 = (NOW - TODAY) / 1000;

/// A full operational day.
pub fn up_day(start_ms: i64) -> DayBar {
    DayBar {
        start_ms,
        level: DayLevel::Operational,
        uptime_pct: Some(100.0),
        down_s: 0,
        degraded_s: 0,
        maintenance_s: 0,
        counted_s: 86_400,
        partial: false,
    }
}

/// A day with nothing counted.
pub fn no_data_day(start_ms: i64) -> DayBar {
    DayBar {
        start_ms,
        level: DayLevel::NoData,
        uptime_pct: None,
        down_s: 0,
        degraded_s: 0,
        maintenance_s: 0,
        counted_s: 0,
        partial: false,
    }
}

/// A day with `down_s` seconds down out of `counted_s`, levelled by the documented rule.
pub fn down_day(start_ms: i64, down_s: i64, counted_s: i64) -> DayBar {
    DayBar {
        start_ms,
        level: if down_s * 20 < counted_s {
            DayLevel::Partial
        } else {
            DayLevel::Major
        },
        uptime_pct: Some(100.0 * (counted_s - down_s) as f64 / counted_s as f64),
        down_s,
        degraded_s: 0,
        maintenance_s: 0,
        counted_s,
        partial: counted_s < 86_400,
    }
}

/// `n` operational days ending today, today partial.
pub fn days(n: usize) -> Vec<DayBar> {
    let mut days: Vec<DayBar> = (0..n)
        .map(|i| up_day(TODAY - (n - 1 - i) as i64 * DAY))
        .collect();
    if let Some(today) = days.last_mut() {
        today.counted_s = TODAY_S;
        today.partial = true;
    }
    days
}

/// 24 hourly points ending with the current hour, p50 and p95 derived from `base`.
pub fn latency(base: f64) -> Vec<LatencyPoint> {
    let first = NOW - NOW.rem_euclid(HOUR) - 23 * HOUR;
    (0..24)
        .map(|i| {
            let wobble = ((i * 7) % 5) as f64;
            LatencyPoint {
                start_ms: first + i * HOUR,
                p50_ms: Some(base + 3.0 * wobble),
                p95_ms: Some(base * 2.5 + 11.0 * wobble),
            }
        })
        .collect()
}

/// An operational component with 90 days of bars and hourly latency.
pub fn component(id: &str, name: &str, status: ComponentStatus, position: u32) -> ComponentView {
    ComponentView {
        id: id.into(),
        name: name.into(),
        description: None,
        status,
        regions: RegionView {
            failing: Vec::new(),
            voting: 5,
        },
        days: days(90),
        uptime: UptimeWindows {
            day: Some(100.0),
            week: Some(100.0),
            month: Some(100.0),
            quarter: Some(100.0),
        },
        latency: latency(40.0),
        position,
        created_at_ms: TODAY - 400 * DAY,
        updated_at_ms: TODAY - 30 * DAY,
    }
}

fn update(id: &str, status: IncidentPhase, body: &str, at: i64) -> IncidentUpdateView {
    IncidentUpdateView {
        id: id.into(),
        status,
        body: body.into(),
        created_at_ms: at,
    }
}

/// The page.
pub fn view() -> PageView {
    let mut api = component("cmp_api", "Public API", ComponentStatus::PartialOutage, 1);
    api.description = Some("REST and GraphQL endpoints".into());
    api.regions.failing = vec!["ap-south".into(), "eu-west".into()];
    api.days[88] = down_day(TODAY - DAY, 240, 86_400);
    api.days[60] = down_day(TODAY - 29 * DAY, 7_200, 86_400);
    api.days[89] = down_day(TODAY, 1_800, TODAY_S);
    api.uptime = UptimeWindows {
        day: Some(97.7),
        week: Some(99.6),
        month: Some(99.8),
        quarter: Some(99.949),
    };
    api.updated_at_ms = NOW - 50 * MINUTE;
    api.latency[5].p50_ms = None;
    api.latency[5].p95_ms = None;
    api.latency[6].p50_ms = None;
    api.latency[6].p95_ms = None;
    api.latency[8].p95_ms = None;
    api.latency[10].p95_ms = None;
    api.latency[23].p95_ms = Some(412.0);

    let mut web = component("cmp_web", "Website", ComponentStatus::Operational, 2);
    web.days[45] = no_data_day(TODAY - 44 * DAY);
    web.days[88] = down_day(TODAY - DAY, 3_000, 86_400);
    web.uptime.quarter = Some(99.999);

    let mut db = component("cmp_db", "Database", ComponentStatus::Maintenance, 3);
    db.description = Some("Primary PostgreSQL cluster".into());
    db.days[89].level = DayLevel::Maintenance;
    db.days[89].maintenance_s = 5_561;
    db.updated_at_ms = TODAY + 20 * HOUR;

    let mut storage = component("cmp_s3", "Object storage", ComponentStatus::Degraded, 4);
    storage.days[89].level = DayLevel::Degraded;
    storage.days[89].degraded_s = 18_000;
    storage.uptime.quarter = Some(99.5);
    storage.latency = latency(120.0);

    let cdn = component("cmp_cdn", "CDN", ComponentStatus::Operational, 5);

    let mut dns = component("cmp_dns", "DNS", ComponentStatus::Operational, 6);
    for d in &mut dns.days[..10] {
        *d = no_data_day(d.start_ms);
    }
    dns.days[10].counted_s = 40_000;
    dns.days[10].partial = true;
    dns.days[84] = down_day(TODAY - 5 * DAY, 7_200, 86_400);
    dns.created_at_ms = TODAY - 79 * DAY + 12 * HOUR;

    let mut notifications = component(
        "cmp_notify",
        "Notifications",
        ComponentStatus::Operational,
        7,
    );
    notifications.uptime = UptimeWindows::default();
    notifications.latency = Vec::new();

    let incidents = vec![
        IncidentView {
            id: "inc_api_errors".into(),
            name: "Elevated API error rates".into(),
            status: IncidentPhase::Identified,
            impact: Impact::Major,
            created_at_ms: NOW - 50 * MINUTE,
            updated_at_ms: NOW - 20 * MINUTE,
            monitoring_at_ms: None,
            resolved_at_ms: None,
            components: vec!["cmp_api".into()],
            updates: vec![
                update(
                    "upd_api_3",
                    IncidentPhase::Identified,
                    "A faulty deploy in eu-west and ap-south is being rolled back.",
                    NOW - 20 * MINUTE,
                ),
                update(
                    "upd_api_2",
                    IncidentPhase::Investigating,
                    "We are still investigating.\nAbout 8 % of requests fail.",
                    NOW - 35 * MINUTE,
                ),
                update(
                    "upd_api_1",
                    IncidentPhase::Investigating,
                    "We are investigating elevated error rates on the API.",
                    NOW - 50 * MINUTE,
                ),
            ],
        },
        IncidentView {
            id: "inc_s3_slow".into(),
            name: "Slow object uploads".into(),
            status: IncidentPhase::Monitoring,
            impact: Impact::Minor,
            created_at_ms: NOW - 5 * HOUR,
            updated_at_ms: NOW - HOUR,
            monitoring_at_ms: Some(NOW - HOUR),
            resolved_at_ms: None,
            components: vec!["cmp_s3".into()],
            updates: vec![
                update(
                    "upd_s3_3",
                    IncidentPhase::Monitoring,
                    "A fix has been deployed; we are monitoring upload times.",
                    NOW - HOUR,
                ),
                update(
                    "upd_s3_2",
                    IncidentPhase::Identified,
                    "A saturated storage node slows uploads.",
                    NOW - 3 * HOUR,
                ),
                update(
                    "upd_s3_1",
                    IncidentPhase::Investigating,
                    "Uploads take longer than usual.",
                    NOW - 5 * HOUR,
                ),
            ],
        },
        IncidentView {
            id: "inc_login".into(),
            name: "Dashboard login failures".into(),
            status: IncidentPhase::Resolved,
            impact: Impact::Major,
            created_at_ms: TODAY - DAY + 14 * HOUR + 5 * MINUTE,
            updated_at_ms: TODAY - DAY + 15 * HOUR + 15 * MINUTE,
            monitoring_at_ms: Some(TODAY - DAY + 14 * HOUR + 45 * MINUTE),
            resolved_at_ms: Some(TODAY - DAY + 15 * HOUR + 15 * MINUTE),
            components: vec!["cmp_web".into()],
            updates: vec![
                update(
                    "upd_login_4",
                    IncidentPhase::Resolved,
                    "This incident has been resolved.",
                    TODAY - DAY + 15 * HOUR + 15 * MINUTE,
                ),
                update(
                    "upd_login_3",
                    IncidentPhase::Monitoring,
                    "Logins work again; we are monitoring.",
                    TODAY - DAY + 14 * HOUR + 45 * MINUTE,
                ),
                update(
                    "upd_login_2",
                    IncidentPhase::Identified,
                    "An expired signing key rejects sessions.",
                    TODAY - DAY + 14 * HOUR + 20 * MINUTE,
                ),
                update(
                    "upd_login_1",
                    IncidentPhase::Investigating,
                    "Some users cannot log in to the dashboard.",
                    TODAY - DAY + 14 * HOUR + 5 * MINUTE,
                ),
            ],
        },
        IncidentView {
            id: "inc_dns".into(),
            name: "DNS resolution errors in Asia".into(),
            status: IncidentPhase::Postmortem,
            impact: Impact::Critical,
            created_at_ms: TODAY - 5 * DAY + 3 * HOUR,
            updated_at_ms: TODAY - 3 * DAY,
            monitoring_at_ms: None,
            resolved_at_ms: Some(TODAY - 5 * DAY + 5 * HOUR),
            components: vec!["cmp_dns".into(), "cmp_cdn".into()],
            updates: vec![
                update(
                    "upd_dns_3",
                    IncidentPhase::Postmortem,
                    "Root cause: a zone transfer truncated by a full disk.",
                    TODAY - 3 * DAY,
                ),
                update(
                    "upd_dns_2",
                    IncidentPhase::Resolved,
                    "Resolution is back to normal.",
                    TODAY - 5 * DAY + 5 * HOUR,
                ),
                update(
                    "upd_dns_1",
                    IncidentPhase::Investigating,
                    "Queries from Asia fail intermittently.",
                    TODAY - 5 * DAY + 3 * HOUR,
                ),
            ],
        },
        IncidentView {
            id: "inc_old".into(),
            name: "Webhook delays".into(),
            status: IncidentPhase::Resolved,
            impact: Impact::Minor,
            created_at_ms: TODAY - 20 * DAY,
            updated_at_ms: TODAY - 20 * DAY + HOUR,
            monitoring_at_ms: None,
            resolved_at_ms: Some(TODAY - 20 * DAY + HOUR),
            components: vec!["cmp_notify".into()],
            updates: vec![update(
                "upd_old_1",
                IncidentPhase::Resolved,
                "Webhooks were delayed by up to ten minutes.",
                TODAY - 20 * DAY + HOUR,
            )],
        },
    ];

    let maintenances = vec![
        MaintenanceView {
            id: "mnt_db_minor".into(),
            name: "Database minor version upgrade".into(),
            status: MaintenancePhase::Completed,
            scheduled_for_ms: TODAY - 2 * DAY + 2 * HOUR,
            scheduled_until_ms: TODAY - 2 * DAY + 3 * HOUR,
            created_at_ms: TODAY - 9 * DAY,
            components: vec!["cmp_db".into()],
        },
        MaintenanceView {
            id: "mnt_db_storage".into(),
            name: "Database storage migration".into(),
            status: MaintenancePhase::InProgress,
            scheduled_for_ms: TODAY + 20 * HOUR,
            scheduled_until_ms: TODAY + 23 * HOUR,
            created_at_ms: TODAY - 7 * DAY,
            components: vec!["cmp_db".into()],
        },
        MaintenanceView {
            id: "mnt_cdn_certs".into(),
            name: "CDN certificate rotation".into(),
            status: MaintenancePhase::Scheduled,
            scheduled_for_ms: TODAY + DAY + 23 * HOUR,
            scheduled_until_ms: TODAY + 2 * DAY + 30 * MINUTE,
            created_at_ms: TODAY - DAY,
            components: vec!["cmp_cdn".into(), "cmp_dns".into()],
        },
    ];

    PageView {
        id: "sp_acme".into(),
        slug: "acme".into(),
        title: "Acme Cloud".into(),
        description: Some("Live status of Acme Cloud services".into()),
        url: "https://status.acme.test".into(),
        base_path: String::new(),
        generated_at_ms: NOW,
        updated_at_ms: NOW - 20 * MINUTE,
        stale: None,
        groups: vec![
            GroupView {
                id: Some("grp_core".into()),
                name: Some("Core platform".into()),
                components: vec![api, web],
            },
            GroupView {
                id: Some("grp_data".into()),
                name: Some("Data".into()),
                components: vec![db, storage],
            },
            GroupView {
                id: Some("grp_edge".into()),
                name: Some("Edge network".into()),
                components: vec![cdn, dns],
            },
            GroupView {
                id: None,
                name: None,
                components: vec![notifications],
            },
        ],
        incidents,
        maintenances,
        options: DisplayOptions {
            show_uptime: true,
            show_response_times: true,
            show_regions: true,
            history_days: 90,
        },
    }
}

/// A page of `n` components in groups of five, each with 90 varied days (a deterministic
/// pseudo-random mix of levels, so compression is not flattered by identical bars) and 24
/// latency points: the weight test's worst realistic case.
pub fn large_view(n: usize) -> PageView {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        // xorshift64*
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        seed.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33
    };
    let mut v = view();
    let components: Vec<ComponentView> = (0..n)
        .map(|i| {
            let mut c = component(
                &format!("cmp_{i:02}"),
                &format!("Service number {i}"),
                ComponentStatus::Operational,
                u32::try_from(i + 1).unwrap_or(u32::MAX),
            );
            c.description = Some(format!("Public endpoint {i} of the platform"));
            for d in &mut c.days {
                match next() % 20 {
                    0 => *d = down_day(d.start_ms, (next() % 6_000) as i64 + 30, d.counted_s),
                    1 => {
                        d.level = DayLevel::Degraded;
                        d.degraded_s = (next() % 20_000) as i64;
                    }
                    2 => *d = no_data_day(d.start_ms),
                    _ => {}
                }
            }
            for p in &mut c.latency {
                p.p50_ms = Some(20.0 + (next() % 400) as f64 / 10.0);
                p.p95_ms = Some(60.0 + (next() % 2_000) as f64 / 10.0);
            }
            c.uptime.quarter = Some(99.0 + (next() % 1_000) as f64 / 1_000.0);
            c
        })
        .collect();
    v.groups = components
        .chunks(5)
        .enumerate()
        .map(|(g, chunk)| GroupView {
            id: Some(format!("grp_{g}")),
            name: Some(format!("Group {g}")),
            components: chunk.to_vec(),
        })
        .collect();
    v
}
