//! Checks a full assignment left out, kept for a short grace before they stop.
//!
//! An assignment larger than [`netpulse_protocol::message::MAX_ASSIGNMENT_BYTES`] arrives as an
//! `AssignmentFull` with the first checks and `AssignmentDelta`s with the rest, a moment later
//! on the same stream. Applying the full set on its own dropped every later check only to add
//! it back: each lost its phase (its next run fell within the first-run jitter again) and its
//! probe state. Checks the full set leaves out now leave after [`FULL_GRACE`] unless a delta
//! names them first. Pure: time comes in as an argument.

use std::collections::HashSet;

use tokio::time::Instant;

/// How long a check left out of a full assignment keeps running, waiting for the deltas that
/// complete the set. A check that really was taken away runs at most this much longer.
pub const FULL_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The checks waiting to leave, and when.
#[derive(Debug, Default)]
pub struct Leaving {
    ids: HashSet<String>,
    at: Option<Instant>,
}

impl Leaving {
    /// A full assignment arrived: of the checks `held`, those not `incoming` leave at
    /// `now + FULL_GRACE` (a newer full set restarts the wait and replaces the list).
    pub fn full<'a>(
        &mut self,
        held: impl IntoIterator<Item = &'a str>,
        incoming: &HashSet<&str>,
        now: Instant,
    ) {
        self.ids = held
            .into_iter()
            .filter(|id| !incoming.contains(id))
            .map(str::to_owned)
            .collect();
        self.at = (!self.ids.is_empty()).then_some(now + FULL_GRACE);
    }

    /// A delta named `id` (to keep it, or to remove it now): it no longer waits.
    pub fn named(&mut self, id: &str) {
        self.ids.remove(id);
        if self.ids.is_empty() {
            self.at = None;
        }
    }

    /// When the waiting checks leave, if any wait.
    pub fn deadline(&self) -> Option<Instant> {
        self.at
    }

    /// The checks whose grace is over at `now`; the list empties.
    pub fn due(&mut self, now: Instant) -> Vec<String> {
        match self.at {
            Some(at) if at <= now => {
                self.at = None;
                self.ids.drain().collect()
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_named_by_a_delta_stay_and_the_rest_leave_after_the_grace() {
        let now = Instant::now();
        let mut l = Leaving::default();
        let incoming = HashSet::from(["a"]);
        l.full(["a", "b", "c", "d"], &incoming, now);
        assert_eq!(l.deadline(), Some(now + FULL_GRACE));
        l.named("b");
        l.named("d");
        assert!(l.due(now + FULL_GRACE / 2).is_empty(), "not yet");
        assert_eq!(l.due(now + FULL_GRACE), vec!["c".to_string()]);
        assert_eq!(l.deadline(), None);
        assert!(l.due(now + FULL_GRACE * 2).is_empty());
    }

    #[test]
    fn nothing_waits_when_every_check_is_named() {
        let now = Instant::now();
        let mut l = Leaving::default();
        l.full(["a", "b"], &HashSet::from(["a"]), now);
        l.named("b");
        assert_eq!(l.deadline(), None);
        l.full(["a"], &HashSet::from(["a"]), now);
        assert_eq!(l.deadline(), None);
    }

    #[test]
    fn a_newer_full_set_restarts_the_wait() {
        let now = Instant::now();
        let mut l = Leaving::default();
        l.full(["a", "b"], &HashSet::from(["a"]), now);
        let later = now + FULL_GRACE / 2;
        l.full(["a", "b", "c"], &HashSet::from(["c"]), later);
        assert_eq!(l.deadline(), Some(later + FULL_GRACE));
        let mut gone = l.due(later + FULL_GRACE);
        gone.sort();
        assert_eq!(gone, ["a", "b"]);
    }
}
