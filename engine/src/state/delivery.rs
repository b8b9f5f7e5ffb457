//! Channels, maintenance windows and the notification outbox.
//!
//! A notification is written here, in the same apply as the decision that caused it, before
//! anything is sent; the leader's dispatcher ([`crate::dispatch`]) sends what is pending and
//! commits each attempt's outcome. Its id is the idempotency key, so a new leader resending an
//! undelivered notification sends the same key.

use super::alerting::{
    ChannelRecord, DeliveryAttempt, DeliveryState, Incident, Maintenance, Notification,
};
use super::command::{CommandResponse, DeliveryOutcome};
use super::decisions::Draft;
use super::model::Monitor;
use super::{json, ordered_i64, State, StateError};
use crate::tables::{Table, Tables};

/// Attempts kept in a notification's log.
const MAX_ATTEMPTS_LOGGED: usize = 50;

/// Notification ids kept on an incident.
const MAX_INCIDENT_NOTIFICATIONS: usize = 500;

impl<T: Tables + Clone> State<T> {
    /// Writes one notification per channel (held back ones as suppressed, for the record).
    pub(super) fn notify(
        &self,
        draft: &Draft<'_>,
        channels: &[String],
        mut incident: Option<&mut Incident>,
        held: Option<&'static str>,
        now_ms: i64,
        index: u64,
    ) -> Result<(), StateError> {
        let subject = match (&incident, draft.monitor) {
            (Some(inc), _) => inc.id.clone(),
            (None, Some(m)) => format!("{}@{index}", m.id),
            (None, None) => format!("mesh@{index}"),
        };
        for channel in channels {
            let id = match draft.ordinal {
                Some(n) => format!("{subject}.{}.{n}.{channel}", draft.event.as_str()),
                None => format!("{subject}.{}.{channel}", draft.event.as_str()),
            };
            if self
                .table(Table::Notifications)
                .contains_key(id.as_bytes())?
            {
                continue;
            }
            let state = match held {
                Some(reason) => DeliveryState::Suppressed {
                    reason: reason.to_owned(),
                },
                None => DeliveryState::Pending {
                    next_attempt_ms: now_ms,
                },
            };
            let n = Notification {
                id: id.clone(),
                channel_id: channel.clone(),
                event: draft.event,
                monitor_id: draft.monitor.map(|m| m.id.clone()),
                monitor_name: draft.monitor.map(|m| m.name.clone()),
                monitor_target: draft.monitor.map(|m| m.target.clone()),
                incident_id: incident
                    .as_ref()
                    .map(|i| i.id.clone())
                    .or_else(|| draft.correlate.as_ref().map(|c| c.0.clone())),
                incident_started_ms: incident
                    .as_ref()
                    .map(|i| i.started_at_ms)
                    .or(draft.correlate.as_ref().map(|c| c.1)),
                incident_resolved_ms: match &incident {
                    Some(i) => i.resolved_at_ms,
                    None => draft.correlate.as_ref().and_then(|c| c.2),
                },
                summary: draft.summary.clone(),
                regions: draft.regions.clone(),
                created_at_ms: now_ms,
                state,
                attempts: Vec::new(),
            };
            self.table(Table::Notifications)
                .insert(id.as_bytes(), json(&n))?;
            if held.is_none() {
                self.table(Table::Pending)
                    .insert(id.as_bytes(), ordered_i64(now_ms))?;
            }
            if let Some(inc) = incident.as_deref_mut() {
                if inc.notifications.len() < MAX_INCIDENT_NOTIFICATIONS {
                    inc.notifications.push(id);
                }
                inc.last_notified_ms = now_ms;
            }
        }
        self.note(|c| c.alerts = true);
        Ok(())
    }

    /// Channels a monitor's alerts go to: its own list plus channels routed by tag.
    pub(super) fn routed_channels(&self, m: &Monitor) -> Result<Vec<String>, StateError> {
        let mut out = self.existing_channels(&m.alerting.channels)?;
        if !m.alerting.tags.is_empty() {
            for c in self.channels()? {
                if !out.contains(&c.id) && c.route_tags.iter().any(|t| m.alerting.tags.contains(t))
                {
                    out.push(c.id);
                }
            }
        }
        Ok(out)
    }

    /// The ids in `ids` that still name a channel.
    pub(super) fn existing_channels(&self, ids: &[String]) -> Result<Vec<String>, StateError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if self.table(Table::Channels).contains_key(id.as_bytes())? && !out.contains(id) {
                out.push(id.clone());
            }
        }
        Ok(out)
    }

    /// Whether a maintenance window covers `m` at `now_ms`.
    pub(super) fn in_maintenance(&self, m: &Monitor, now_ms: i64) -> Result<bool, StateError> {
        for w in self.maintenances()? {
            if w.schedule.active(now_ms) && w.covers(&m.id, &m.alerting.tags) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub(super) fn apply_delivery(
        &self,
        id: &str,
        coordinator: u64,
        at_ms: i64,
        outcome: &DeliveryOutcome,
    ) -> Result<CommandResponse, StateError> {
        let Some(mut n) = self.notification(id)? else {
            return Ok(CommandResponse::NotFound(format!("notification {id}")));
        };
        if n.attempts.len() < MAX_ATTEMPTS_LOGGED {
            n.attempts.push(DeliveryAttempt {
                at_ms,
                coordinator,
                error: match outcome {
                    DeliveryOutcome::Delivered => None,
                    DeliveryOutcome::Retry { error, .. } | DeliveryOutcome::Failed { error } => {
                        Some(error.clone())
                    }
                },
            });
        }
        // A late report about a notification that is already settled (two leaders both sent
        // it) only adds to the log.
        if matches!(n.state, DeliveryState::Pending { .. }) {
            match outcome {
                DeliveryOutcome::Delivered => {
                    n.state = DeliveryState::Delivered { at_ms };
                    self.table(Table::Pending).remove(id.as_bytes())?;
                }
                DeliveryOutcome::Retry {
                    next_attempt_ms, ..
                } => {
                    n.state = DeliveryState::Pending {
                        next_attempt_ms: *next_attempt_ms,
                    };
                    self.table(Table::Pending)
                        .insert(id.as_bytes(), ordered_i64(*next_attempt_ms))?;
                }
                DeliveryOutcome::Failed { .. } => {
                    n.state = DeliveryState::Failed { at_ms };
                    self.table(Table::Pending).remove(id.as_bytes())?;
                }
            }
        }
        self.table(Table::Notifications)
            .insert(id.as_bytes(), json(&n))?;
        self.note(|c| c.alerts = true);
        Ok(CommandResponse::Ok)
    }

    /// Notifications waiting to be sent, with the time each is due (leader clock).
    pub fn pending_notifications(&self) -> Result<Vec<(String, i64)>, StateError> {
        let mut out = Vec::new();
        for kv in self.table(Table::Pending).iter() {
            let (k, v) = kv?;
            let due = <[u8; 8]>::try_from(v.as_ref())
                .map(|b| (u64::from_be_bytes(b) ^ (1 << 63)) as i64)
                .map_err(|_| StateError::Corrupt {
                    tree: "sm_pending",
                    detail: String::from_utf8_lossy(&k).into_owned(),
                })?;
            out.push((String::from_utf8_lossy(&k).into_owned(), due));
        }
        Ok(out)
    }

    /// One notification.
    pub fn notification(&self, id: &str) -> Result<Option<Notification>, StateError> {
        self.get_json(Table::Notifications, id)
    }

    /// One channel.
    pub fn channel(&self, id: &str) -> Result<Option<ChannelRecord>, StateError> {
        self.get_json(Table::Channels, id)
    }

    /// All channels, by id.
    pub fn channels(&self) -> Result<Vec<ChannelRecord>, StateError> {
        self.all_json(Table::Channels)
    }

    /// All maintenance windows, by id.
    pub fn maintenances(&self) -> Result<Vec<Maintenance>, StateError> {
        self.all_json(Table::Maintenance)
    }

    /// One maintenance window.
    pub fn maintenance(&self, id: &str) -> Result<Option<Maintenance>, StateError> {
        self.get_json(Table::Maintenance, id)
    }

    pub(super) fn put_channel(&self, c: &ChannelRecord) -> Result<CommandResponse, StateError> {
        self.table(Table::Channels)
            .insert(c.id.as_bytes(), json(c))?;
        self.note(|c| c.alerts = true);
        Ok(CommandResponse::Ok)
    }

    pub(super) fn delete_channel(&self, id: &str) -> Result<CommandResponse, StateError> {
        if self.table(Table::Channels).remove(id.as_bytes())?.is_none() {
            return Ok(CommandResponse::NotFound(format!("channel {id}")));
        }
        // Pending notifications to a deleted channel can never be delivered.
        let mut settle = Vec::new();
        for kv in self.table(Table::Pending).iter() {
            let (k, _) = kv?;
            if let Some(n) =
                self.get_json::<Notification>(Table::Notifications, &String::from_utf8_lossy(&k))?
            {
                if n.channel_id == id {
                    settle.push(n);
                }
            }
        }
        for mut n in settle {
            n.state = DeliveryState::Suppressed {
                reason: "channel deleted".into(),
            };
            self.table(Table::Pending).remove(n.id.as_bytes())?;
            self.table(Table::Notifications)
                .insert(n.id.as_bytes(), json(&n))?;
        }
        self.note(|c| c.alerts = true);
        Ok(CommandResponse::Ok)
    }

    pub(super) fn put_maintenance(&self, w: &Maintenance) -> Result<CommandResponse, StateError> {
        self.table(Table::Maintenance)
            .insert(w.id.as_bytes(), json(w))?;
        self.note(|c| c.alerts = true);
        Ok(CommandResponse::Ok)
    }

    pub(super) fn delete_maintenance(&self, id: &str) -> Result<CommandResponse, StateError> {
        if self
            .table(Table::Maintenance)
            .remove(id.as_bytes())?
            .is_none()
        {
            return Ok(CommandResponse::NotFound(format!(
                "maintenance window {id}"
            )));
        }
        self.note(|c| c.alerts = true);
        Ok(CommandResponse::Ok)
    }
}
