//! Incident records: reading them, and the operator actions on them.

use super::alerting::{Incident, IncidentStatus, IncidentUpdate};
use super::command::{CommandResponse, IncidentAction};
use super::{json, StateError, StateStore};

/// Updates kept per incident.
const MAX_UPDATES: usize = 1000;

impl StateStore {
    /// One incident.
    pub fn incident(&self, id: &str) -> Result<Option<Incident>, StateError> {
        self.get_json(&self.incidents, "sm_incidents", id)
    }

    /// Incidents, newest first, optionally of one monitor, at most `limit`.
    pub fn incidents(
        &self,
        monitor_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Incident>, StateError> {
        let mut out: Vec<Incident> = Vec::new();
        for v in self.incidents.iter().values() {
            let inc: Incident = super::from_json("sm_incidents", &v?)?;
            if monitor_id.is_none_or(|m| inc.monitor_id.as_deref() == Some(m)) {
                out.push(inc);
            }
        }
        out.sort_by(|a, b| {
            b.started_at_ms
                .cmp(&a.started_at_ms)
                .then_with(|| incident_number(&b.id).cmp(&incident_number(&a.id)))
        });
        out.truncate(limit);
        Ok(out)
    }

    pub(super) fn open_incident_ids(&self) -> Result<Vec<String>, StateError> {
        self.open_incidents
            .iter()
            .keys()
            .map(|k| Ok(String::from_utf8_lossy(&k?).into_owned()))
            .collect()
    }

    /// Stores an incident and keeps the index of open ones in step.
    pub(super) fn put_incident(&self, inc: &Incident) -> Result<(), StateError> {
        self.incidents.insert(inc.id.as_bytes(), json(inc))?;
        match inc.status {
            IncidentStatus::Open => self.open_incidents.insert(inc.id.as_bytes(), &[])?,
            IncidentStatus::Resolved => self.open_incidents.remove(inc.id.as_bytes())?,
        };
        self.bump_alerts();
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
                });
            }
            IncidentAction::RootCause { text } => inc.root_cause = Some(text.clone()),
            IncidentAction::Resolve => {
                if inc.status == IncidentStatus::Resolved {
                    return Ok(CommandResponse::Ok);
                }
                // A monitor that is still down keeps its incident: resolving it by hand would
                // only make the next decision open a duplicate.
                if let Some(mid) = &inc.monitor_id {
                    if !inc.manual
                        && self
                            .monitor_health(mid)?
                            .is_some_and(|h| h.incident.as_deref() == Some(id))
                        && self.monitor(mid)?.is_some()
                    {
                        return Ok(CommandResponse::Conflict(format!(
                            "incident {id} follows monitor {mid}, which is still down; it \
                             resolves when the monitor recovers"
                        )));
                    }
                }
                inc.status = IncidentStatus::Resolved;
                inc.resolved_at_ms = Some(at_ms);
            }
        }
        self.put_incident(&inc)?;
        Ok(CommandResponse::Ok)
    }
}

/// The number in `inc_<n>`, for a stable order among incidents opened in the same millisecond.
fn incident_number(id: &str) -> u64 {
    id.strip_prefix("inc_")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
