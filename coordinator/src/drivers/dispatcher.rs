//! The dispatcher: on the leader, it sends committed notifications.
//!
//! It runs on every coordinator and acts only while it leads. It reads pending
//! notifications from the local state machine, sends each through its channel, and commits the
//! outcome (`DeliveryAttempted`). A leader that dies between sending and committing leaves the
//! notification pending; the next leader sends it again with the same idempotency key (the
//! notification id), so a receiver that deduplicates by key sees it once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netpulse_alert::message::RegionVote;
use netpulse_alert::{Alert, ChannelConfig, SendError};
use tokio::sync::{watch, Semaphore};

use crate::context::Context;
use crate::metrics::registry::DeliveryResult;
use crate::now_ms;
use netpulse_engine::alerting::{Notification, RegionEvidence, RegionSaid};
use netpulse_engine::command::{Command, DeliveryOutcome};

/// Attempts before a notification is given up.
pub const MAX_ATTEMPTS: usize = 30;

/// Longest wait between attempts.
const MAX_BACKOFF_MS: i64 = 5 * 60 * 1000;

/// Sends at once, across channels.
const MAX_CONCURRENT_SENDS: usize = 32;

/// Wait before attempt `n + 1` after `n` failed attempts: 1 s, 2 s, 4 s, ... up to 5 minutes.
pub fn backoff_ms(failed_attempts: usize) -> i64 {
    let exp = failed_attempts.saturating_sub(1).min(20) as u32;
    (1000i64 << exp).min(MAX_BACKOFF_MS)
}

/// Sends pending notifications while this coordinator leads.
pub async fn dispatcher(ctx: Context, mut shutdown: watch::Receiver<bool>) {
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
    let limit = Arc::new(Semaphore::new(MAX_CONCURRENT_SENDS));
    let mut versions = ctx.store().subscribe();
    let mut wait = Duration::from_millis(0);
    loop {
        let seen = versions.borrow_and_update().alerts;
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            r = versions.wait_for(|v| v.alerts != seen) => if r.is_err() { return },
            _ = shutdown.changed() => return,
        }
        // Re-check leadership at least once a second (it is not in the version counters).
        wait = Duration::from_secs(1);
        if !ctx.is_leader() {
            continue;
        }
        let pending = match ctx.store().pending_notifications() {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot read pending notifications");
                continue;
            }
        };
        let now = now_ms();
        for (id, due) in pending {
            if due > now {
                let until = Duration::from_millis((due - now) as u64);
                wait = wait.min(until);
                continue;
            }
            let fresh = in_flight
                .lock()
                .map(|mut set| set.insert(id.clone()))
                .unwrap_or(false);
            if !fresh {
                continue;
            }
            let (ctx, in_flight, limit) = (ctx.clone(), in_flight.clone(), limit.clone());
            tokio::spawn(async move {
                let _permit = limit.acquire().await;
                deliver(&ctx, &id).await;
                if let Ok(mut set) = in_flight.lock() {
                    set.remove(&id);
                }
            });
        }
    }
}

/// One attempt at one notification, and the commit of its outcome.
async fn deliver(ctx: &Context, id: &str) {
    let store = ctx.store();
    let n = match store.notification(id) {
        Ok(Some(n)) => n,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(id, error = %e, "cannot read notification");
            return;
        }
    };
    let failed_before = n.attempts.iter().filter(|a| a.error.is_some()).count();
    // The channel's type labels the attempt in /metrics; a deleted or unreadable channel has
    // none we can name.
    let channel = store.channel(&n.channel_id);
    let kind = match &channel {
        Ok(Some(ch)) => ch.kind.as_str(),
        _ => "unknown",
    };
    let result = match &channel {
        Ok(Some(ch)) => match ChannelConfig::from_sealed(ctx.secret_key(), &ch.sealed_config) {
            Ok(cfg) => {
                let alert = alert_for(ctx, &n);
                ctx.sender().send(&cfg, &alert).await
            }
            // Another coordinator may hold the right key; keep trying, loudly.
            Err(e) => Err(SendError::Retryable(format!(
                "cannot unseal the channel configuration on coordinator {} ({e}); do all \
                 coordinators share one secret key?",
                ctx.id()
            ))),
        },
        Ok(None) => Err(SendError::Permanent("channel deleted".into())),
        Err(e) => Err(SendError::Retryable(format!("state: {e}"))),
    };
    let at_ms = now_ms();
    let outcome = match result {
        Ok(()) => {
            tracing::info!(id, channel = %n.channel_id, event = n.event.as_str(), "notification delivered");
            DeliveryOutcome::Delivered
        }
        Err(e) if e.is_retryable() && failed_before + 1 < MAX_ATTEMPTS => {
            let next_attempt_ms = at_ms + backoff_ms(failed_before + 1);
            tracing::warn!(id, channel = %n.channel_id, error = %e, retry_in_ms = next_attempt_ms - at_ms, "notification not delivered");
            DeliveryOutcome::Retry {
                error: e.message().to_owned(),
                next_attempt_ms,
            }
        }
        Err(e) => {
            tracing::error!(id, channel = %n.channel_id, error = %e, "notification given up");
            DeliveryOutcome::Failed {
                error: e.message().to_owned(),
            }
        }
    };
    let counted = match &outcome {
        DeliveryOutcome::Delivered => DeliveryResult::Delivered,
        DeliveryOutcome::Retry { .. } => DeliveryResult::Retry,
        DeliveryOutcome::Failed { .. } => DeliveryResult::Failed,
    };
    ctx.metrics().delivery(kind, counted);
    let cmd = Command::DeliveryAttempted {
        id: id.to_owned(),
        coordinator: ctx.id(),
        at_ms,
        outcome,
    };
    if let Err(e) = ctx.write(cmd).await {
        // Unrecorded: the notification stays pending and is sent again (same key).
        tracing::warn!(id, error = %e, "delivery outcome not committed");
    }
}

/// The message a notification becomes, the same on every coordinator and every attempt
/// (except the incident's acknowledgement flag, which is current).
pub fn alert_for(ctx: &Context, n: &Notification) -> Alert {
    let mut alert = Alert::new(n.event, n.id.clone(), n.summary.clone(), n.created_at_ms);
    if let (Some(id), Some(name), Some(target)) =
        (&n.monitor_id, &n.monitor_name, &n.monitor_target)
    {
        alert = alert.with_monitor(id.clone(), name.clone(), target.clone());
    }
    if let (Some(inc_id), Some(started)) = (&n.incident_id, n.incident_started_ms) {
        // Fixed when decided, so a late "down" never claims the incident resolved; only the
        // acknowledgement is read now.
        let acknowledged = ctx
            .store()
            .incident(inc_id)
            .ok()
            .flatten()
            .is_some_and(|i| i.acknowledged_by.is_some());
        alert = alert.with_incident(
            inc_id.clone(),
            started,
            n.incident_resolved_ms,
            acknowledged,
        );
    }
    for r in &n.regions {
        let (vote, detail) = region_line(r);
        alert = alert.with_region(r.region.clone(), vote, detail);
    }
    alert
}

/// How one region's evidence reads in an alert: its vote, and the failure it saw or, without
/// one, why it abstained or that it is only degraded.
fn region_line(r: &RegionEvidence) -> (RegionVote, Option<String>) {
    let vote = match r.vote {
        RegionSaid::Down => RegionVote::Down,
        RegionSaid::Up | RegionSaid::Degraded => RegionVote::Up,
        RegionSaid::Stale | RegionSaid::Impaired | RegionSaid::Silent | RegionSaid::Pending => {
            RegionVote::Abstain
        }
    };
    let detail = r.detail.clone().or_else(|| {
        (r.vote.abstains() || r.vote == RegionSaid::Degraded).then(|| r.vote.to_string())
    });
    (vote, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_abstention_says_why_and_a_failure_shows_what_failed() {
        let line = |vote, detail: Option<&str>| {
            region_line(&RegionEvidence {
                region: "eu-west".into(),
                vote,
                detail: detail.map(str::to_owned),
            })
        };
        for said in RegionSaid::ALL.into_iter().filter(|s| s.abstains()) {
            assert_eq!(
                line(said, None),
                (RegionVote::Abstain, Some(said.to_string())),
                "{said}"
            );
        }
        assert_eq!(
            line(RegionSaid::Down, Some("connect timeout")),
            (RegionVote::Down, Some("connect timeout".into()))
        );
        assert_eq!(line(RegionSaid::Up, None), (RegionVote::Up, None));
        assert_eq!(
            line(RegionSaid::Degraded, None),
            (RegionVote::Up, Some("degraded".into()))
        );
    }

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff_ms(1), 1000);
        assert_eq!(backoff_ms(2), 2000);
        assert_eq!(backoff_ms(4), 8000);
        assert_eq!(backoff_ms(9), 256_000);
        assert_eq!(backoff_ms(10), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(1000), MAX_BACKOFF_MS);
    }
}
