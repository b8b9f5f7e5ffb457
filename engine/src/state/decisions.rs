//! Applying results and ticks to votes, monitor health, incidents and the mesh alert.
//!
//! Runs inside [`State::apply`], so it reads no clock: `now_ms` is the leader time carried
//! by the command (a result batch's `received_at_ms` or a tick's `at_ms`). The pure rules live
//! in [`crate::decide`]; this module loads and stores their inputs and acts on transitions.

use crate::message::{human_duration, AlertEvent};
use netpulse_protocol::result::CheckResult;

use super::alerting::{
    Incident, IncidentStatus, MeshEntry, MeshState, MonitorHealth, RegionEvidence, RegionSaid,
};
use super::model::{Monitor, ALL_REGIONS};
use super::{from_json, json, prefix, State, StateError};
use std::ops::Bound;

use crate::decide::quorum::{decide, Decision, Health, RegionView};
use crate::decide::vote::{Abstention, Observation, RegionTrack, Vote, VoteRules};
use crate::tables::{Table, Tables};

const NEXT_INCIDENT: &[u8] = b"next_incident";
const MESH: &[u8] = b"mesh";
const DAY_MS: i64 = 86_400_000;

/// Most state changes remembered per monitor for flap damping.
const MAX_CHANGES: usize = 64;

/// Voting thresholds of a monitor.
pub fn rules(m: &Monitor) -> VoteRules {
    VoteRules {
        confirm: m.alerting.confirm,
        recover: m.alerting.recover,
        stale_after_ms: (2 * i64::from(m.interval_s) + i64::from(m.timeout_s)) * 1000,
    }
}

/// Key in the deadline index: time (order-preserving), then the monitor id.
fn deadline_key(at_ms: i64, monitor: &str) -> Vec<u8> {
    let mut k = super::ordered_i64(at_ms).to_vec();
    k.extend_from_slice(monitor.as_bytes());
    k
}

pub(super) fn track_key(monitor: &str, region: &str) -> Vec<u8> {
    let mut k = prefix(monitor);
    k.extend_from_slice(region.as_bytes());
    k
}

/// Region tracks touched while applying one result batch.
#[derive(Default)]
pub(super) struct VoteBatch {
    /// Track per key, and whether it changed.
    tracks: std::collections::BTreeMap<Vec<u8>, (RegionTrack, bool)>,
    /// Monitors whose regions' views changed.
    changed: std::collections::BTreeSet<String>,
}

/// What a region contributes to a decision at `now_ms`.
pub(super) fn view_of(t: &RegionTrack, now_ms: i64, rules: VoteRules) -> RegionView {
    match t.abstention(now_ms, rules) {
        Some(a) => RegionView::Abstains(a),
        None if !t.decided => RegionView::Silent,
        None => RegionView::Votes {
            vote: t.vote,
            degraded: t.degraded,
        },
    }
}

/// What a notification is about, before it is addressed to channels.
pub(super) struct Draft<'a> {
    pub event: AlertEvent,
    pub monitor: Option<&'a Monitor>,
    pub summary: String,
    pub regions: Vec<RegionEvidence>,
    /// Distinguishes repeated events of one subject (reminder number, escalation step).
    pub ordinal: Option<u32>,
    /// For alerts without an incident that still open and close something (the mesh alert):
    /// an id, start and end that receivers (PagerDuty, Opsgenie) correlate on.
    pub correlate: Option<(String, i64, Option<i64>)>,
}

impl<T: Tables + Clone> State<T> {
    /// Feeds one stored result into its region's vote (through `votes`, which keeps the
    /// batch's tracks in memory until [`State::flush_votes`]).
    pub(super) fn observe(
        &self,
        votes: &mut VoteBatch,
        m: &Monitor,
        region: &str,
        r: &CheckResult,
        measured_at_ms: i64,
        received_at_ms: i64,
    ) -> Result<(), StateError> {
        let key = track_key(&m.id, region);
        let rules = rules(m);
        let (track, dirty) = match votes.tracks.entry(key) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let stored = match self.table(Table::Votes).get(e.key())? {
                    Some(v) => Some(from_json::<RegionTrack>("sm_votes", &v)?),
                    None => None,
                };
                if stored.is_none() {
                    votes.changed.insert(m.id.clone());
                }
                e.insert((stored.unwrap_or_default(), false))
            }
        };
        let before = track.clone();
        let error = r
            .error
            .as_ref()
            .map(|e| format!("{}: {}", e.class.as_str(), e.message));
        track.observe(
            Observation {
                status: r.status,
                impaired: r.impaired,
                checked_at_ms: measured_at_ms,
                received_at_ms,
                error: error.as_deref(),
            },
            rules,
        );
        if *track != before {
            *dirty = true;
            // Only a different view can change the decision; most results repeat the last one.
            if view_of(&before, received_at_ms, rules) != view_of(track, received_at_ms, rules) {
                votes.changed.insert(m.id.clone());
            }
        }
        Ok(())
    }

    /// Writes the tracks a batch changed; returns the monitors whose decision inputs changed.
    pub(super) fn flush_votes(
        &self,
        votes: VoteBatch,
    ) -> Result<std::collections::BTreeSet<String>, StateError> {
        let table = self.table(Table::Votes);
        for (key, (track, dirty)) in votes.tracks {
            if dirty {
                table.insert(key, json(&track))?;
            }
        }
        Ok(votes.changed)
    }

    /// Regions a monitor runs in; `all` expands to every region with an enrolled node.
    fn monitor_regions(&self, m: &Monitor) -> Result<Vec<String>, StateError> {
        let mut regions: Vec<String> = m
            .regions
            .iter()
            .filter(|r| *r != ALL_REGIONS)
            .cloned()
            .collect();
        if m.regions.iter().any(|r| r == ALL_REGIONS) {
            for n in self.nodes()? {
                if !n.revoked && !regions.contains(&n.region) {
                    regions.push(n.region);
                }
            }
        }
        regions.sort();
        Ok(regions)
    }

    /// Re-decides a monitor at `now_ms` and acts on a change of state.
    pub(super) fn evaluate(&self, m: &Monitor, now_ms: i64, index: u64) -> Result<(), StateError> {
        let regions = self.monitor_regions(m)?;
        self.forget_mesh_regions(&m.id, &regions)?;
        if m.paused {
            self.table(Table::Mesh).remove_prefix(&prefix(&m.id))?;
            if let Some(mut h) = self.monitor_health(&m.id)? {
                if h.deadline_ms.is_some() {
                    self.set_deadline(&m.id, &mut h, None)?;
                    self.table(Table::Health)
                        .insert(m.id.as_bytes(), json(&h))?;
                }
            }
            return Ok(());
        }
        let rules = rules(m);
        // The next moment this decision can change without a new result: a voting region
        // going stale, or the grace period of silent regions ending.
        let mut deadline: Option<i64> = None;
        let mut due_at = |t: i64| deadline = Some(deadline.map_or(t, |d: i64| d.min(t)));
        let mut views = Vec::with_capacity(regions.len());
        let mut evidence = Vec::with_capacity(regions.len());
        let settled = now_ms.saturating_sub(m.created_at_ms) > rules.stale_after_ms;
        if !settled {
            due_at(m.created_at_ms.saturating_add(rules.stale_after_ms + 1));
        }
        for region in &regions {
            let key = track_key(&m.id, region);
            let track: Option<RegionTrack> = match self.table(Table::Votes).get(&key)? {
                Some(v) => Some(from_json("sm_votes", &v)?),
                None => None,
            };
            let (view, vote, detail) = match &track {
                None => (RegionView::Silent, RegionSaid::Silent, None),
                Some(t) => {
                    let view = view_of(t, now_ms, rules);
                    if t.abstention(now_ms, rules).is_none() {
                        due_at(t.fresh_at_ms.saturating_add(rules.stale_after_ms + 1));
                    }
                    let (vote, detail) = match view {
                        RegionView::Abstains(Abstention::Stale) => (RegionSaid::Stale, None),
                        RegionView::Abstains(Abstention::Impaired) => (RegionSaid::Impaired, None),
                        RegionView::Silent => (RegionSaid::Pending, None),
                        RegionView::Votes {
                            vote: Vote::Down, ..
                        } => (RegionSaid::Down, t.last_error.clone()),
                        RegionView::Votes { degraded: true, .. } => {
                            (RegionSaid::Degraded, t.last_error.clone())
                        }
                        RegionView::Votes { .. } => (RegionSaid::Up, None),
                    };
                    (view, vote, detail)
                }
            };
            // A region that cannot vote is a lost vantage point (a new monitor's silent
            // regions get a grace period).
            let abstains = matches!(view, RegionView::Abstains(_)) || (settled && track.is_none());
            self.set_mesh_entry(region, &m.id, abstains.then_some(vote))?;
            views.push(view);
            evidence.push(RegionEvidence {
                region: region.clone(),
                vote,
                detail,
            });
        }
        let decision = decide(m.alerting.quorum, views);
        let prev = self
            .monitor_health(&m.id)?
            .unwrap_or_else(|| MonitorHealth::unknown(m.created_at_ms));
        let mut h = prev.clone();
        h.decision = decision;
        if decision.health != prev.decision.health {
            h.since_ms = now_ms;
            // Flapping is about going down and back: passing through degraded is not a flap.
            if decision.health == Health::Down || prev.decision.health == Health::Down {
                h.changes_ms.push(now_ms);
            }
            let window = i64::from(m.alerting.flap_window_s) * 1000;
            h.changes_ms.retain(|t| now_ms.saturating_sub(*t) <= window);
            if h.changes_ms.len() > MAX_CHANGES {
                let cut = h.changes_ms.len() - MAX_CHANGES;
                h.changes_ms.drain(..cut);
            }
            self.on_change(m, prev.decision.health, &mut h, &evidence, now_ms, index)?;
            self.note_state(m, Some(decision.health), now_ms)?;
        }
        self.set_deadline(&m.id, &mut h, deadline)?;
        if h != prev {
            self.table(Table::Health)
                .insert(m.id.as_bytes(), json(&h))?;
            self.note(|c| c.results = true);
            if h.decision != prev.decision {
                self.note(|c| c.health = true);
            }
        }
        Ok(())
    }

    fn flapping(m: &Monitor, h: &MonitorHealth) -> bool {
        m.alerting.flap_threshold > 0 && h.changes_ms.len() > m.alerting.flap_threshold as usize
    }

    fn on_change(
        &self,
        m: &Monitor,
        from: Health,
        h: &mut MonitorHealth,
        evidence: &[RegionEvidence],
        now_ms: i64,
        index: u64,
    ) -> Result<(), StateError> {
        let d = h.decision;
        let held = self.hold_reason(m, h, now_ms)?;
        match d.health {
            Health::Down if h.incident.is_none() => {
                let id = self.next_incident_id()?;
                let summary = down_summary(m, &d, evidence);
                let mut inc = Incident {
                    id: id.clone(),
                    monitor_id: Some(m.id.clone()),
                    title: format!("{} is down", m.name),
                    status: IncidentStatus::Open,
                    started_at_ms: now_ms,
                    resolved_at_ms: None,
                    summary: summary.clone(),
                    evidence: evidence.to_vec(),
                    manual: false,
                    acknowledged_by: None,
                    acknowledged_at_ms: None,
                    root_cause: None,
                    updates: Vec::new(),
                    notifications: Vec::new(),
                    reminders: 0,
                    escalations: 0,
                    last_notified_ms: now_ms,
                };
                let draft = Draft {
                    event: AlertEvent::MonitorDown,
                    monitor: Some(m),
                    summary,
                    regions: evidence.to_vec(),
                    ordinal: None,
                    correlate: None,
                };
                let channels = self.routed_channels(m)?;
                self.notify(&draft, &channels, Some(&mut inc), held, now_ms, index)?;
                self.put_incident(&inc)?;
                h.incident = Some(id);
            }
            Health::Up | Health::Degraded if h.incident.is_some() => {
                if let Some(mut inc) = self.incident(h.incident.as_deref().unwrap_or_default())? {
                    if inc.status == IncidentStatus::Open {
                        inc.status = IncidentStatus::Resolved;
                        inc.resolved_at_ms = Some(now_ms);
                        let downtime = since(now_ms, inc.started_at_ms);
                        let draft = Draft {
                            event: AlertEvent::MonitorUp,
                            monitor: Some(m),
                            summary: format!("{} is up again after {downtime} down", m.name),
                            regions: evidence.to_vec(),
                            ordinal: None,
                            correlate: None,
                        };
                        let channels = self.routed_channels(m)?;
                        self.notify(&draft, &channels, Some(&mut inc), held, now_ms, index)?;
                        self.put_incident(&inc)?;
                    }
                }
                h.incident = None;
            }
            Health::Degraded if from == Health::Up && m.alerting.notify_degraded => {
                let draft = Draft {
                    event: AlertEvent::MonitorDegraded,
                    monitor: Some(m),
                    summary: degraded_summary(m, &d, evidence),
                    regions: evidence.to_vec(),
                    ordinal: None,
                    correlate: None,
                };
                let channels = self.routed_channels(m)?;
                self.notify(&draft, &channels, None, held, now_ms, index)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Why alerts for `m` are held back right now, if they are.
    fn hold_reason(
        &self,
        m: &Monitor,
        h: &MonitorHealth,
        now_ms: i64,
    ) -> Result<Option<&'static str>, StateError> {
        if self.in_maintenance(m, now_ms)? {
            Ok(Some("maintenance"))
        } else if Self::flapping(m, h) {
            Ok(Some("flapping"))
        } else {
            Ok(None)
        }
    }

    /// Warns once per certificate when a probe sees it expire within the monitor's threshold.
    pub(super) fn check_tls_expiry(
        &self,
        m: &Monitor,
        r: &CheckResult,
        now_ms: i64,
        index: u64,
    ) -> Result<(), StateError> {
        let Some(warn_days) = m.alerting.tls_expiry_warn_days else {
            return Ok(());
        };
        let Some(days_left) = r
            .metrics
            .iter()
            .find(|(k, _)| k == "cert_days_left" || k == "days_left")
            .map(|(_, v)| *v)
        else {
            return Ok(());
        };
        if !days_left.is_finite() || days_left >= f64::from(warn_days) {
            return Ok(());
        }
        let expiry_day = r.checked_at_ms.div_euclid(DAY_MS) + days_left.floor() as i64;
        let mut h = self
            .monitor_health(&m.id)?
            .unwrap_or_else(|| MonitorHealth::unknown(m.created_at_ms));
        // The same certificate seen a day later computes to the same expiry day, give or take
        // one for rounding.
        if h.tls_warned_day
            .is_some_and(|d| (d - expiry_day).abs() <= 1)
        {
            return Ok(());
        }
        h.tls_warned_day = Some(expiry_day);
        self.table(Table::Health)
            .insert(m.id.as_bytes(), json(&h))?;
        let draft = Draft {
            event: AlertEvent::TlsExpiring,
            monitor: Some(m),
            summary: format!(
                "{}: the certificate expires in {} days",
                m.name,
                days_left.max(0.0).floor()
            ),
            regions: Vec::new(),
            ordinal: None,
            correlate: None,
        };
        let held = self.in_maintenance(m, now_ms)?.then_some("maintenance");
        let channels = self.routed_channels(m)?;
        self.notify(&draft, &channels, None, held, now_ms, index)
    }

    /// Applies a leader tick: re-decides every monitor (staleness), then reminders, escalation
    /// and the mesh alert.
    pub(super) fn apply_tick(&self, now_ms: i64, index: u64) -> Result<(), StateError> {
        // Only monitors whose deadline passed can change without a result.
        let until = deadline_key(now_ms.saturating_add(1), "");
        let due = self
            .table(Table::Deadlines)
            .scan(Bound::Unbounded, Bound::Excluded(&until), false)
            .keys()
            .collect::<Result<Vec<_>, _>>()?;
        for key in due {
            let id = String::from_utf8_lossy(&key[8..]).into_owned();
            match self.monitor(&id)? {
                Some(m) => self.evaluate(&m, now_ms, index)?,
                None => {
                    self.table(Table::Deadlines).remove(key)?;
                }
            }
        }
        for id in self.open_incident_ids()? {
            let Some(mut inc) = self.incident(&id)? else {
                continue;
            };
            if inc.acknowledged_by.is_some() || inc.status != IncidentStatus::Open {
                continue;
            }
            let Some(m) = inc
                .monitor_id
                .as_deref()
                .map(|mid| self.monitor(mid))
                .transpose()?
                .flatten()
            else {
                continue;
            };
            let health = self.monitor_health(&m.id)?;
            let held = match &health {
                Some(h) => self.hold_reason(&m, h, now_ms)?,
                None => None,
            };
            let mut changed = false;
            let renotify = i64::from(m.alerting.renotify_s) * 1000;
            if renotify > 0 && now_ms.saturating_sub(inc.last_notified_ms) >= renotify {
                inc.reminders += 1;
                let draft = Draft {
                    event: AlertEvent::MonitorStillDown,
                    monitor: Some(&m),
                    summary: format!(
                        "{} is still down ({} so far)",
                        m.name,
                        since(now_ms, inc.started_at_ms)
                    ),
                    regions: inc.evidence.clone(),
                    ordinal: Some(inc.reminders),
                    correlate: None,
                };
                let channels = self.routed_channels(&m)?;
                self.notify(&draft, &channels, Some(&mut inc), held, now_ms, index)?;
                changed = true;
            }
            while let Some(step) = m.alerting.escalation.get(inc.escalations as usize) {
                if now_ms.saturating_sub(inc.started_at_ms) < i64::from(step.after_s) * 1000 {
                    break;
                }
                inc.escalations += 1;
                let draft = Draft {
                    event: AlertEvent::Escalation,
                    monitor: Some(&m),
                    summary: format!(
                        "{} has been down for {} and nobody acknowledged it",
                        m.name,
                        since(now_ms, inc.started_at_ms)
                    ),
                    regions: inc.evidence.clone(),
                    ordinal: Some(inc.escalations),
                    correlate: None,
                };
                let channels = self.existing_channels(&step.channels)?;
                self.notify(&draft, &channels, Some(&mut inc), held, now_ms, index)?;
                changed = true;
            }
            if changed {
                self.put_incident(&inc)?;
            }
        }
        self.update_mesh(now_ms, index)?;
        self.note_maintenance_flips(now_ms)?;
        self.prune(now_ms)?;
        Ok(())
    }

    /// Moves `monitor`'s entry in the deadline index to `deadline`.
    fn set_deadline(
        &self,
        monitor: &str,
        h: &mut MonitorHealth,
        deadline: Option<i64>,
    ) -> Result<(), StateError> {
        if h.deadline_ms == deadline {
            return Ok(());
        }
        if let Some(old) = h.deadline_ms {
            self.table(Table::Deadlines)
                .remove(deadline_key(old, monitor))?;
        }
        if let Some(new) = deadline {
            self.table(Table::Deadlines)
                .insert(deadline_key(new, monitor), Vec::new())?;
        }
        h.deadline_ms = deadline;
        Ok(())
    }

    /// Drops mesh entries of `monitor` for regions it no longer runs in (edited regions, a
    /// revoked node's region under `all`), so they cannot hold the mesh alert open.
    fn forget_mesh_regions(&self, monitor: &str, regions: &[String]) -> Result<(), StateError> {
        let p = prefix(monitor);
        let mesh = self.table(Table::Mesh);
        let stale = mesh
            .scan_prefix(&p)
            .keys()
            .filter(|k| match k {
                Ok(k) => !regions.iter().any(|r| r.as_bytes() == &k[p.len()..]),
                Err(_) => true,
            })
            .collect::<Result<Vec<_>, _>>()?;
        for k in stale {
            mesh.remove(k)?;
        }
        Ok(())
    }

    /// Records whether `region` abstains on `monitor`.
    fn set_mesh_entry(
        &self,
        region: &str,
        monitor: &str,
        reason: Option<RegionSaid>,
    ) -> Result<(), StateError> {
        let key = track_key(monitor, region);
        match reason.map(RegionSaid::as_str) {
            Some(r) => {
                if self.table(Table::Mesh).get(&key)?.as_deref() != Some(r.as_bytes()) {
                    self.table(Table::Mesh).insert(key, r.as_bytes())?;
                }
            }
            None => {
                self.table(Table::Mesh).remove(key)?;
            }
        }
        Ok(())
    }

    /// Opens or closes the cluster-wide mesh alert after a command changed abstentions.
    pub(super) fn update_mesh(&self, now_ms: i64, index: u64) -> Result<(), StateError> {
        let mut mesh: MeshState = match self.table(Table::Meta).get(MESH)? {
            Some(v) => from_json("sm_meta", &v)?,
            None => MeshState::default(),
        };
        let lost = !self.table(Table::Mesh).is_empty()?;
        if lost == mesh.open {
            return Ok(());
        }
        if lost {
            let entries = self.mesh_entries()?;
            let monitors = entries.len();
            let mut regions: Vec<RegionEvidence> = Vec::new();
            for e in entries {
                if !regions.iter().any(|r| r.region == e.region) {
                    regions.push(RegionEvidence {
                        region: e.region,
                        vote: e.reason,
                        detail: None,
                    });
                }
            }
            regions.sort_by(|a, b| a.region.cmp(&b.region));
            mesh = MeshState {
                episode: mesh.episode + 1,
                open: true,
                since_ms: now_ms,
                channels: self
                    .channels()?
                    .into_iter()
                    .filter(|c| c.mesh_alerts)
                    .map(|c| c.id)
                    .collect(),
                regions,
            };
            let names: Vec<String> = mesh
                .regions
                .iter()
                .map(|r| format!("{} ({})", r.region, r.vote))
                .collect();
            let draft = Draft {
                event: AlertEvent::MeshDegraded,
                monitor: None,
                summary: format!(
                    "vantage points lost: {} cannot vote on {monitors} monitor-region pairs",
                    names.join(", ")
                ),
                regions: mesh.regions.clone(),
                ordinal: Some(mesh.episode as u32),
                correlate: Some((format!("mesh_{}", mesh.episode), now_ms, None)),
            };
            self.notify(&draft, &mesh.channels, None, None, now_ms, index)?;
        } else {
            mesh.open = false;
            let draft = Draft {
                event: AlertEvent::MeshRecovered,
                monitor: None,
                summary: format!(
                    "every region votes again (vantage points were lost for {})",
                    since(now_ms, mesh.since_ms)
                ),
                regions: mesh.regions.clone(),
                ordinal: Some(mesh.episode as u32),
                correlate: Some((
                    format!("mesh_{}", mesh.episode),
                    mesh.since_ms,
                    Some(now_ms),
                )),
            };
            let channels = self.existing_channels(&mesh.channels)?;
            self.notify(&draft, &channels, None, None, now_ms, index)?;
        }
        self.table(Table::Meta).insert(MESH, json(&mesh))?;
        self.note(|c| c.results = true);
        Ok(())
    }

    /// Drops a deleted monitor's votes, health and mesh entries, and resolves its incident.
    pub(super) fn forget_decisions(&self, id: &str) -> Result<(), StateError> {
        self.table(Table::Votes).remove_prefix(&prefix(id))?;
        if let Some(h) = self.monitor_health(id)? {
            if let Some(mut inc) = h
                .incident
                .as_deref()
                .map(|i| self.incident(i))
                .transpose()?
                .flatten()
            {
                if inc.status == IncidentStatus::Open {
                    inc.status = IncidentStatus::Resolved;
                    inc.resolved_at_ms = Some(h.since_ms.max(inc.started_at_ms));
                    inc.summary = format!("{} (monitor deleted)", inc.summary);
                    self.put_incident(&inc)?;
                }
            }
            if let Some(at) = h.deadline_ms {
                self.table(Table::Deadlines).remove(deadline_key(at, id))?;
            }
        }
        self.table(Table::Health).remove(id.as_bytes())?;
        self.table(Table::Mesh).remove_prefix(&prefix(id))?;
        Ok(())
    }

    /// The current mesh alert state.
    pub fn mesh_state(&self) -> Result<MeshState, StateError> {
        Ok(match self.table(Table::Meta).get(MESH)? {
            Some(v) => from_json("sm_meta", &v)?,
            None => MeshState::default(),
        })
    }

    /// Abstaining (region, monitor, reason) triples behind the mesh alert.
    pub fn mesh_entries(&self) -> Result<Vec<MeshEntry>, StateError> {
        let mut out = Vec::new();
        for kv in self.table(Table::Mesh).iter() {
            let (k, v) = kv?;
            let mut parts = k.splitn(2, |b| *b == 0);
            let monitor_id = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            let region = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            let reason = std::str::from_utf8(&v)
                .ok()
                .and_then(RegionSaid::parse)
                .ok_or_else(|| StateError::Corrupt {
                    tree: "sm_mesh",
                    detail: format!("reason {:?}", String::from_utf8_lossy(&v)),
                })?;
            out.push(MeshEntry {
                region,
                monitor_id,
                reason,
            });
        }
        Ok(out)
    }

    /// The decided state of a monitor.
    pub fn monitor_health(&self, id: &str) -> Result<Option<MonitorHealth>, StateError> {
        self.get_json(Table::Health, id)
    }

    /// Per-region vote tracks of a monitor, by region.
    pub fn region_tracks(&self, id: &str) -> Result<Vec<(String, RegionTrack)>, StateError> {
        let p = prefix(id);
        let mut out = Vec::new();
        for kv in self.table(Table::Votes).scan_prefix(&p) {
            let (k, v) = kv?;
            let region = String::from_utf8_lossy(&k[p.len()..]).into_owned();
            out.push((region, from_json("sm_votes", &v)?));
        }
        Ok(out)
    }

    pub(super) fn next_incident_id(&self) -> Result<String, StateError> {
        let n = self.meta_u64(NEXT_INCIDENT)?.unwrap_or(1);
        self.table(Table::Meta)
            .insert(NEXT_INCIDENT, (n + 1).to_be_bytes())?;
        Ok(format!("inc_{n}"))
    }
}

/// "1h 2m 5s" from `from_ms` to `now_ms`.
fn since(now_ms: i64, from_ms: i64) -> String {
    human_duration((now_ms.saturating_sub(from_ms).max(0) / 1000) as u64)
}

fn failing_list(evidence: &[RegionEvidence]) -> String {
    evidence
        .iter()
        .filter(|e| e.vote.failing())
        .map(|e| match &e.detail {
            Some(d) => format!("{d} from {}", e.region),
            None => e.region.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn down_summary(m: &Monitor, d: &Decision, evidence: &[RegionEvidence]) -> String {
    format!(
        "{} is DOWN: {}/{} regions failing ({})",
        m.name,
        d.down,
        d.regions,
        failing_list(evidence)
    )
}

fn degraded_summary(m: &Monitor, d: &Decision, evidence: &[RegionEvidence]) -> String {
    format!(
        "{} is DEGRADED: {}/{} regions failing, quorum is {} ({})",
        m.name,
        d.down,
        d.regions,
        d.required,
        failing_list(evidence)
    )
}
