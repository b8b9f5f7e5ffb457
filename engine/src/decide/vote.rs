//! One region's vote on one monitor.

use netpulse_protocol::result::CheckStatus;
use serde::{Deserialize, Serialize};

/// What a region says about a monitor right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vote {
    /// The target works from here (or has not failed `confirm` times in a row yet).
    Up,
    /// `confirm` consecutive failures, not yet `recover` successes since.
    Down,
}

/// Why a region does not vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Abstention {
    /// No fresh result within `2 x interval + timeout`.
    Stale,
    /// The node's own canaries fail: it has lost its network, not the target.
    Impaired,
}

/// The per-region history the vote is derived from. Stored per (monitor, region).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionTrack {
    /// Current vote.
    pub vote: Vote,
    /// Consecutive failures (reset by a success).
    pub fail_streak: u32,
    /// Consecutive successes (reset by a failure).
    pub ok_streak: u32,
    /// Whether the last voting result was degraded (up, but not healthy).
    pub degraded: bool,
    /// Whether the node's last result said it was impaired.
    pub impaired: bool,
    /// Leader time the last fresh result arrived, Unix ms.
    pub fresh_at_ms: i64,
    /// When the newest result seen was measured, on the leader's clock (arrival minus the age
    /// its node reported), so late replays cannot vote. Entries from before clock-safe ages
    /// hold the node's own time here; the two agree for a node with a sane clock.
    pub checked_at_ms: i64,
    /// The last failure's description, evidence for incidents.
    pub last_error: Option<String>,
    /// Whether the region has voted at all: a new region whose first results fail has no vote
    /// until `confirm` of them say so (it must not count as up meanwhile).
    #[serde(default)]
    pub decided: bool,
}

/// One result, as far as voting cares.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// Status the node judged.
    pub status: CheckStatus,
    /// Whether the node was impaired when it measured.
    pub impaired: bool,
    /// When it was measured, on the leader's clock: `received_at_ms` minus the result's age on
    /// its node's clock. No clock offset of a node or coordinator enters it.
    pub checked_at_ms: i64,
    /// When the leader proposed the entry carrying it, Unix ms.
    pub received_at_ms: i64,
    /// Failure description.
    pub error: Option<&'a str>,
}

/// Thresholds of one monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoteRules {
    /// Consecutive failures before a region votes down (at least 1).
    pub confirm: u32,
    /// Consecutive successes before a down region votes up again (at least 1).
    pub recover: u32,
    /// A result older than this on arrival, or a region silent this long, does not vote.
    pub stale_after_ms: i64,
}

impl RegionTrack {
    /// The track a region starts with on its first result.
    pub fn new() -> Self {
        Self {
            vote: Vote::Up,
            fail_streak: 0,
            ok_streak: 0,
            degraded: false,
            impaired: false,
            fresh_at_ms: i64::MIN,
            checked_at_ms: i64::MIN,
            last_error: None,
            decided: false,
        }
    }

    /// Feeds one result. Returns whether the vote changed.
    ///
    /// Results older than the newest one seen (a node's backlog replayed after reconnecting,
    /// or another node of the region lagging) and results that were already stale when they
    /// arrived are recorded nowhere: they describe the past, not the present.
    ///
    /// Both times are on the clock of the leader that proposed them. When the log's clock goes
    /// backwards (a new leader whose clock is behind the old one's), the stored times lie in
    /// that clock's future; a result arriving then is newer in log order, so it is taken, and
    /// votes do not freeze until the new clock catches up.
    pub fn observe(&mut self, o: Observation<'_>, rules: VoteRules) -> bool {
        let clock_went_back = o.received_at_ms < self.fresh_at_ms;
        if (o.checked_at_ms <= self.checked_at_ms && !clock_went_back)
            || o.received_at_ms.saturating_sub(o.checked_at_ms) > rules.stale_after_ms
        {
            return false;
        }
        self.checked_at_ms = o.checked_at_ms;
        self.fresh_at_ms = o.received_at_ms;
        self.impaired = o.impaired;
        if o.impaired {
            return false;
        }
        let before = self.vote;
        match o.status {
            CheckStatus::Down => {
                self.fail_streak = self.fail_streak.saturating_add(1);
                self.ok_streak = 0;
                self.last_error = o.error.map(str::to_owned);
                if self.fail_streak >= rules.confirm.max(1) {
                    self.vote = Vote::Down;
                    self.decided = true;
                }
            }
            CheckStatus::Up | CheckStatus::Degraded => {
                self.ok_streak = self.ok_streak.saturating_add(1);
                self.fail_streak = 0;
                self.degraded = o.status == CheckStatus::Degraded;
                if self.degraded {
                    self.last_error = o.error.map(str::to_owned);
                }
                if self.vote == Vote::Down && self.ok_streak >= rules.recover.max(1) {
                    self.vote = Vote::Up;
                }
                self.decided = true;
            }
        }
        self.vote != before
    }

    /// Why this region does not vote at `now_ms`, if it does not.
    pub fn abstention(&self, now_ms: i64, rules: VoteRules) -> Option<Abstention> {
        if self.impaired {
            Some(Abstention::Impaired)
        } else if now_ms.saturating_sub(self.fresh_at_ms) > rules.stale_after_ms {
            Some(Abstention::Stale)
        } else {
            None
        }
    }
}

impl Default for RegionTrack {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: VoteRules = VoteRules {
        confirm: 2,
        recover: 1,
        stale_after_ms: 25_000,
    };

    fn obs(status: CheckStatus, at: i64) -> Observation<'static> {
        Observation {
            status,
            impaired: false,
            checked_at_ms: at,
            received_at_ms: at + 100,
            error: Some("connect timeout"),
        }
    }

    #[test]
    fn a_leader_change_to_a_slower_clock_does_not_freeze_the_vote() {
        let mut t = RegionTrack::new();
        // Under a leader 90 s ahead.
        t.observe(obs(CheckStatus::Up, 190_000), RULES);
        // The next leader's clock reads 100 s: results are newer in log order.
        assert!(!t.observe(obs(CheckStatus::Down, 100_000), RULES));
        assert!(t.observe(obs(CheckStatus::Down, 101_000), RULES));
        assert_eq!(t.vote, Vote::Down);
        // A late replay under one clock (arriving after, measured before) is still refused.
        let replay = Observation {
            received_at_ms: 101_600,
            ..obs(CheckStatus::Up, 100_500)
        };
        assert!(!t.observe(replay, RULES));
    }

    #[test]
    fn votes_down_after_confirm_failures_and_up_after_recover_successes() {
        let mut t = RegionTrack::new();
        assert!(!t.observe(obs(CheckStatus::Down, 1_000), RULES));
        assert_eq!(t.vote, Vote::Up, "one failure is not confirmed");
        assert!(t.observe(obs(CheckStatus::Down, 2_000), RULES));
        assert_eq!(t.vote, Vote::Down);
        assert_eq!(t.last_error.as_deref(), Some("connect timeout"));
        assert!(t.observe(obs(CheckStatus::Up, 3_000), RULES));
        assert_eq!(t.vote, Vote::Up);
    }

    #[test]
    fn a_new_region_has_no_vote_until_its_first_success_or_confirmed_failure() {
        let mut t = RegionTrack::new();
        t.observe(obs(CheckStatus::Down, 1_000), RULES);
        assert!(!t.decided, "one failure neither confirms down nor means up");
        t.observe(obs(CheckStatus::Down, 2_000), RULES);
        assert!(t.decided);
        assert_eq!(t.vote, Vote::Down);
        let mut t = RegionTrack::new();
        t.observe(obs(CheckStatus::Up, 1_000), RULES);
        assert!(t.decided);
    }

    #[test]
    fn a_success_breaks_the_failure_streak() {
        let mut t = RegionTrack::new();
        t.observe(obs(CheckStatus::Down, 1_000), RULES);
        t.observe(obs(CheckStatus::Up, 2_000), RULES);
        t.observe(obs(CheckStatus::Down, 3_000), RULES);
        assert_eq!(t.vote, Vote::Up);
    }

    #[test]
    fn recover_needs_consecutive_successes() {
        let rules = VoteRules {
            recover: 3,
            ..RULES
        };
        let mut t = RegionTrack::new();
        for at in [1_000, 2_000] {
            t.observe(obs(CheckStatus::Down, at), rules);
        }
        for at in [3_000, 4_000] {
            t.observe(obs(CheckStatus::Up, at), rules);
            assert_eq!(t.vote, Vote::Down);
        }
        t.observe(obs(CheckStatus::Up, 5_000), rules);
        assert_eq!(t.vote, Vote::Up);
    }

    #[test]
    fn impaired_results_do_not_vote_and_make_the_region_abstain() {
        let mut t = RegionTrack::new();
        for at in [1_000, 2_000, 3_000] {
            let mut o = obs(CheckStatus::Down, at);
            o.impaired = true;
            assert!(!t.observe(o, RULES));
        }
        assert_eq!(t.vote, Vote::Up);
        assert_eq!(t.fail_streak, 0);
        assert_eq!(t.abstention(3_100, RULES), Some(Abstention::Impaired));
        t.observe(obs(CheckStatus::Up, 4_000), RULES);
        assert_eq!(t.abstention(4_100, RULES), None);
    }

    #[test]
    fn replayed_and_late_results_are_ignored() {
        let mut t = RegionTrack::new();
        t.observe(obs(CheckStatus::Up, 10_000), RULES);
        // Older than what the region already said (it arrives later: log order).
        let older = Observation {
            received_at_ms: 10_200,
            ..obs(CheckStatus::Down, 9_000)
        };
        assert!(!t.observe(older, RULES));
        assert_eq!(t.fail_streak, 0);
        // Measured long before it arrived (outbox backlog after a cut-off).
        let late = Observation {
            received_at_ms: 100_000,
            ..obs(CheckStatus::Down, 20_000)
        };
        assert!(!t.observe(late, RULES));
        assert_eq!(t.fail_streak, 0);
    }

    #[test]
    fn a_silent_region_goes_stale() {
        let mut t = RegionTrack::new();
        t.observe(obs(CheckStatus::Up, 1_000), RULES);
        assert_eq!(t.abstention(1_100 + 25_000, RULES), None);
        assert_eq!(t.abstention(1_100 + 25_001, RULES), Some(Abstention::Stale));
    }
}
