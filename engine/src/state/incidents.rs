//! Incident records: reading them, and the operator actions on them.

use super::alerting::{Incident, IncidentStatus, IncidentUpdate, UpdatePhase};
use super::command::{CommandResponse, IncidentAction};
use std::ops::Bound;

use super::{json, State, StateError};
use crate::tables::{Table, Tables};

/// Updates kept per incident.
const MAX_UPDATES: usize = 1000;

impl<T: Tables + Clone> State<T> {
    /// One incident.
    pub fn incident(&self, id: &str) -> Result<Option<Incident>, StateError> {
        self.table(Table::Incidents)
            .get(incident_key(id))?
            .map(|v| super::from_json("sm_incidents", &v))
            .transpose()
    }

    /// Up to `limit` incidents that `keep` accepts, newest first. Keys are the incident number,
    /// so this reads from the newest end and stops at `limit`.
    pub fn incidents(
        &self,
        limit: usize,
        keep: impl Fn(&Incident) -> bool,
    ) -> Result<Vec<Incident>, StateError> {
        let mut out: Vec<Incident> = Vec::new();
        for v in self
            .table(Table::Incidents)
            .scan(Bound::Unbounded, Bound::Unbounded, true)
            .values()
        {
            if out.len() >= limit {
                break;
            }
            let inc: Incident = super::from_json("sm_incidents", &v?)?;
            if keep(&inc) {
                out.push(inc);
            }
        }
        Ok(out)
    }

    /// A page of incidents that `keep` accepts, newest first, older than incident number
    /// `before` when given; and whether more may follow.
    pub fn incidents_before(
        &self,
        before: Option<u64>,
        limit: usize,
        keep: impl Fn(&Incident) -> bool,
    ) -> Result<(Vec<Incident>, bool), StateError> {
        let before = before.map(u64::to_be_bytes);
        let hi = match &before {
            Some(n) => Bound::Excluded(n.as_slice()),
            None => Bound::Unbounded,
        };
        let mut out: Vec<Incident> = Vec::new();
        let table = self.table(Table::Incidents);
        for v in table.scan(Bound::Unbounded, hi, true).values() {
            let inc: Incident = super::from_json("sm_incidents", &v?)?;
            if keep(&inc) {
                if out.len() == limit {
                    return Ok((out, true));
                }
                out.push(inc);
            }
        }
        Ok((out, false))
    }

    /// Every open incident, newest first (from the index of open ones).
    pub fn open_incidents(&self) -> Result<Vec<Incident>, StateError> {
        let mut out = Vec::new();
        for id in self.open_incident_ids()?.iter().rev() {
            if let Some(inc) = self.incident(id)? {
                out.push(inc);
            }
        }
        Ok(out)
    }

    pub(super) fn open_incident_ids(&self) -> Result<Vec<String>, StateError> {
        self.table(Table::OpenIncidents)
            .iter()
            .values()
            .map(|v| Ok(String::from_utf8_lossy(&v?).into_owned()))
            .collect()
    }

    /// Stores an incident and keeps the index of open ones in step.
    pub(super) fn put_incident(&self, inc: &Incident) -> Result<(), StateError> {
        let key = incident_key(&inc.id);
        self.table(Table::Incidents).insert(key, json(inc))?;
        match inc.status {
            IncidentStatus::Open => self
                .table(Table::OpenIncidents)
                .insert(key, inc.id.as_bytes())?,
            IncidentStatus::Resolved => {
                self.table(Table::OpenIncidents).remove(key)?;
            }
        };
        self.note(|c| c.alerts = true);
        Ok(())
    }

    pub(super) fn open_manual_incident(
        &self,
        title: &str,
        message: Option<&str>,
        monitor_id: Option<&str>,
        author: &str,
        at_ms: i64,
    ) -> Result<CommandResponse, StateError> {
        let id = self.next_incident_id()?;
        let inc = Incident {
            id: id.clone(),
            monitor_id: monitor_id.map(str::to_owned),
            title: title.to_owned(),
            status: IncidentStatus::Open,
            started_at_ms: at_ms,
            resolved_at_ms: None,
            summary: title.to_owned(),
            evidence: Vec::new(),
            manual: true,
            acknowledged_by: Some(author.to_owned()),
            acknowledged_at_ms: Some(at_ms),
            root_cause: None,
            updates: message
                .map(|m| IncidentUpdate {
                    at_ms,
                    author: author.to_owned(),
                    message: m.to_owned(),
                    phase: None,
                })
                .into_iter()
                .collect(),
            notifications: Vec::new(),
            reminders: 0,
            escalations: 0,
            last_notified_ms: at_ms,
        };
        self.put_incident(&inc)?;
        Ok(CommandResponse::Created(id))
    }

    pub(super) fn apply_incident_action(
        &self,
        id: &str,
        action: &IncidentAction,
        author: &str,
        at_ms: i64,
    ) -> Result<CommandResponse, StateError> {
        let Some(mut inc) = self.incident(id)? else {
            return Ok(CommandResponse::NotFound(format!("incident {id}")));
        };
        match action {
            IncidentAction::Acknowledge => {
                if inc.acknowledged_by.is_none() {
                    inc.acknowledged_by = Some(author.to_owned());
                    inc.acknowledged_at_ms = Some(at_ms);
                }
            }
            IncidentAction::Update { message } => {
                if inc.updates.len() >= MAX_UPDATES {
                    return Ok(CommandResponse::Conflict(format!(
                        "incident {id} has {MAX_UPDATES} updates already"
                    )));
                }
                inc.updates.push(IncidentUpdate {
                    at_ms,
                    author: author.to_owned(),
                    message: message.clone(),
                    phase: None,
                });
            }
            IncidentAction::Publish { phase, message } => {
                if inc.updates.len() >= MAX_UPDATES {
                    return Ok(CommandResponse::Conflict(format!(
                        "incident {id} has {MAX_UPDATES} updates already"
                    )));
                }
                if *phase == UpdatePhase::Resolved && inc.status != IncidentStatus::Resolved {
                    if let Some(refusal) = self.refuse_resolve(&inc)? {
                        return Ok(refusal);
                    }
                    inc.status = IncidentStatus::Resolved;
                    inc.resolved_at_ms = Some(at_ms);
                }
                inc.updates.push(IncidentUpdate {
                    at_ms,
                    author: author.to_owned(),
                    message: message.clone(),
                    phase: Some(*phase),
                });
            }
            IncidentAction::RootCause { text } => inc.root_cause = Some(text.clone()),
            IncidentAction::Resolve => {
                if inc.status == IncidentStatus::Resolved {
                    return Ok(CommandResponse::Ok);
                }
                if let Some(refusal) = self.refuse_resolve(&inc)? {
                    return Ok(refusal);
                }
                inc.status = IncidentStatus::Resolved;
                inc.resolved_at_ms = Some(at_ms);
            }
        }
        self.put_incident(&inc)?;
        Ok(CommandResponse::Ok)
    }
}

impl<T: Tables + Clone> State<T> {
    /// Why `inc` cannot be resolved by hand, if it cannot: a monitor that is still down keeps
    /// its incident, because resolving it by hand would only make the next decision open a
    /// duplicate.
    fn refuse_resolve(&self, inc: &Incident) -> Result<Option<CommandResponse>, StateError> {
        let (Some(mid), false) = (&inc.monitor_id, inc.manual) else {
            return Ok(None);
        };
        let follows = self
            .monitor_health(mid)?
            .is_some_and(|h| h.incident.as_deref() == Some(inc.id.as_str()));
        if follows && self.monitor(mid)?.is_some() {
            return Ok(Some(CommandResponse::Conflict(format!(
                "incident {} follows monitor {mid}, which is still down; it resolves when the \
                 monitor recovers",
                inc.id
            ))));
        }
        Ok(None)
    }
}

/// Key of an incident: its number (`inc_<n>`) big-endian, so keys sort by age.
fn incident_key(id: &str) -> [u8; 8] {
    super::alerting::incident_number(id)
        .unwrap_or(u64::MAX)
        .to_be_bytes()
}
