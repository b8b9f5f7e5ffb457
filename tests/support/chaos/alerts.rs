//! The alert invariants, read from the webhook receiver: nothing about a healthy target, and
//! the scheduled failure told once per idempotency key.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crate::support::receiver::{Received, Receiver};

/// The monitor a request is about (`None` for cluster-wide events such as the mesh alert).
pub fn monitor_of(r: &Received) -> Option<&str> {
    r.body["monitor"]["id"].as_str()
}

/// Every `monitor.*` request (accepted or not) about a monitor other than `failing`.
pub fn about_healthy(receiver: &Receiver, failing: &str) -> Vec<String> {
    receiver
        .requests()
        .iter()
        .filter(|r| r.event().starts_with("monitor."))
        .filter(|r| monitor_of(r) != Some(failing))
        .map(|r| {
            format!(
                "{} {} (key {}): {}",
                r.event(),
                monitor_of(r).unwrap_or("?"),
                r.key(),
                r.body
            )
        })
        .collect()
}

/// Idempotency keys of accepted `event` requests about `failing`.
pub fn keys(receiver: &Receiver, failing: &str, event: &str) -> BTreeSet<String> {
    receiver
        .accepted_by_key()
        .into_iter()
        .filter(|(_, v)| {
            v.iter()
                .any(|r| r.event() == event && monitor_of(r) == Some(failing))
        })
        .map(|(k, _)| k)
        .collect()
}

/// Round boundaries, to tell which round a delivery happened in.
#[derive(Default)]
pub struct Timeline {
    /// (start, whether the round faulted a coordinator).
    rounds: Vec<(Instant, bool)>,
}

impl Timeline {
    pub fn begin(&mut self, coordinator_fault: bool) {
        self.rounds.push((Instant::now(), coordinator_fault));
    }

    /// Index of the round running at `at` (`None` before the first round).
    fn round_at(&self, at: Instant) -> Option<usize> {
        self.rounds.iter().rposition(|(start, _)| *start <= at)
    }

    fn coordinator_fault_between(&self, from: Option<usize>, to: Option<usize>) -> bool {
        let (Some(from), Some(to)) = (from, to) else {
            return false;
        };
        self.rounds[from..=to].iter().any(|(_, c)| *c)
    }
}

/// What the receiver saw of the scheduled failure, checked against the outages the run made.
#[derive(Debug, Default)]
pub struct Deliveries {
    /// Keys accepted more than once (the consumer's dedup absorbs them), with the rounds.
    pub redelivered: Vec<String>,
}

/// "Once per idempotency key": each outage produced exactly one `monitor.down` and one
/// `monitor.up` key; every acceptance of a key carries the same incident; a key accepted again
/// is a redelivery, legitimate only when a coordinator fault (a leader that may have sent it
/// without recording the delivery) happened between the first acceptance and the repeat.
pub fn once_per_key(
    receiver: &Receiver,
    failing: &str,
    down_keys: &[String],
    up_keys: &[String],
    timeline: &Timeline,
) -> Result<Deliveries, String> {
    for (event, expected) in [("monitor.down", down_keys), ("monitor.up", up_keys)] {
        let got = keys(receiver, failing, event);
        let want: BTreeSet<String> = expected.iter().cloned().collect();
        if got != want {
            return Err(format!(
                "{event} keys for the scheduled failure: expected one per outage {want:?}, \
                 the receiver accepted {got:?}"
            ));
        }
    }
    let mut out = Deliveries::default();
    let by_key: BTreeMap<String, Vec<Received>> = receiver.accepted_by_key();
    for (key, accepted) in by_key {
        if !down_keys.contains(&key) && !up_keys.contains(&key) {
            continue;
        }
        let incidents: BTreeSet<String> = accepted
            .iter()
            .map(|r| r.body["incident"]["id"].to_string())
            .collect();
        if incidents.len() != 1 {
            return Err(format!(
                "key {key} was sent for several incidents: {incidents:?}"
            ));
        }
        if accepted.len() > 1 {
            let first = timeline.round_at(accepted[0].at);
            for again in &accepted[1..] {
                let round = timeline.round_at(again.at);
                if !timeline.coordinator_fault_between(first, round) {
                    return Err(format!(
                        "key {key} accepted again in round {round:?} (first in round {first:?}) \
                         without any coordinator fault in between: {}",
                        again.body
                    ));
                }
                out.redelivered
                    .push(format!("{key} (rounds {first:?} -> {round:?})"));
            }
        }
    }
    Ok(out)
}
