//! Ingest applied through commands: refused results, clock-safe freshness, clock offsets.

use netpulse_protocol::limits::{self, LimitExceeded};
use netpulse_protocol::result::CheckStatus::{Down, Up};

use super::command::{
    AgedResult, Command, CommandResponse, IngestBatch, IngestItem, LegacyIngestBatch, NodeIngest,
    NodeResults, RejectReason, RejectedResult,
};
use super::tests_alerting::{result, World, REGIONS};
use crate::decide::quorum::Health;

fn aged(
    seq: u64,
    checked_at: i64,
    age_ms: u64,
    status: netpulse_protocol::result::CheckStatus,
) -> IngestItem {
    IngestItem::Result(AgedResult {
        age_ms,
        result: result(seq, checked_at, status, false),
    })
}

fn rejected(seq: u64) -> IngestItem {
    IngestItem::Rejected(RejectedResult {
        seq,
        monitor_id: "mon_a".into(),
        reason: RejectReason::Limit(LimitExceeded {
            limit: limits::Limit::Metrics,
            found: 5_000,
        }),
    })
}

fn batch(
    received_at_ms: i64,
    node: &str,
    sent_at_ms: Option<i64>,
    items: Vec<IngestItem>,
) -> Command {
    Command::Ingest(IngestBatch {
        received_at_ms,
        per_node: vec![NodeIngest {
            node: node.into(),
            sent_at_ms,
            items,
        }],
    })
}

#[test]
fn a_refused_result_is_committed_as_rejected_and_its_neighbours_are_stored() {
    let mut w = World::new();
    let cmd = batch(
        10_100,
        "n-eu-west",
        Some(10_100),
        vec![
            aged(1, 10_000, 100, Up),
            rejected(2),
            aged(3, 10_050, 50, Up),
        ],
    );
    let resp = w.apply(cmd.clone());
    let CommandResponse::Ingested {
        stored,
        rejected: refused,
        committed,
        ..
    } = resp
    else {
        panic!("unexpected {resp:?}");
    };
    assert_eq!((stored, refused), (2, 1));
    assert_eq!(committed, vec![("n-eu-west".to_owned(), 3)]);
    let stats = w.s.node_ingest("n-eu-west").expect("read");
    assert_eq!(stats.results_rejected, 1);
    let last = stats.last_rejection.expect("recorded");
    assert_eq!((last.seq, last.monitor_id.as_str()), (2, "mon_a"));
    assert_eq!(last.reason, "metrics of 5000 exceeds the limit of 4096");
    assert_eq!(w.s.results("mon_a", None, 10).expect("read").len(), 2);

    // Redelivered (the ack was lost): nothing is counted twice.
    let resp = w.apply(cmd);
    assert!(matches!(
        resp,
        CommandResponse::Ingested {
            stored: 0,
            duplicates: 3,
            rejected: 0,
            ..
        }
    ));
    assert_eq!(
        w.s.node_ingest("n-eu-west").expect("read").results_rejected,
        1
    );
}

#[test]
fn a_batch_of_only_refused_results_still_moves_the_committed_sequence() {
    let mut w = World::new();
    w.apply(batch(
        1_000,
        "n-us-east",
        None,
        vec![rejected(7), rejected(8)],
    ));
    assert_eq!(w.s.committed_seq("n-us-east").expect("read"), 8);
    assert_eq!(
        w.s.node_ingest("n-us-east").expect("read").results_rejected,
        2
    );
}

/// A node whose clock runs five minutes behind: its results carry node timestamps 300 s in the
/// past, but their age on its own clock is small, so they vote, and a confirmed failure from a
/// quorum is still an outage.
#[test]
fn a_node_clock_five_minutes_behind_votes_and_its_offset_is_recorded() {
    let mut w = World::new();
    const SKEW: i64 = -300_000;
    for (round, status) in [(1, Up), (2, Down), (3, Down)] {
        let leader_now = 100_000 + round * 10_000;
        let per_node = REGIONS
            .iter()
            .map(|r| {
                w.seq += 1;
                let node_now = leader_now + SKEW;
                NodeIngest {
                    node: format!("n-{r}"),
                    sent_at_ms: Some(node_now),
                    items: vec![aged(w.seq, node_now - 200, 200, status)],
                }
            })
            .collect();
        w.apply(Command::Ingest(IngestBatch {
            received_at_ms: leader_now,
            per_node,
        }));
        if round == 1 {
            assert_eq!(
                w.health(),
                Health::Up,
                "fresh results vote despite the skew"
            );
        }
    }
    assert_eq!(w.health(), Health::Down);
    let stats = w.s.node_ingest("n-eu-west").expect("read");
    assert_eq!(stats.clock_offset_ms, Some(SKEW));
    // Stored on the leader's timeline: measured 200 ms before the last arrival.
    let newest = &w.s.results("mon_a", None, 1).expect("read")[0];
    assert_eq!(newest.checked_at_ms, 130_000 - 200);
}

/// The same skewed results in a legacy entry (age judged as `received - checked`) look five
/// minutes old and do not vote: the defect timed batches remove.
#[test]
fn legacy_entries_keep_their_old_judgement() {
    let mut w = World::new();
    let per_node = REGIONS
        .iter()
        .map(|r| {
            w.seq += 1;
            NodeResults {
                node: format!("n-{r}"),
                results: vec![result(w.seq, 110_000 - 300_000, Up, false)],
            }
        })
        .collect();
    w.apply(Command::IngestResults(LegacyIngestBatch {
        received_at_ms: 110_000,
        per_node,
    }));
    assert_eq!(
        w.health(),
        Health::Unknown,
        "stale on arrival: no region votes"
    );
    assert_eq!(
        w.s.node_ingest("n-eu-west").expect("read").clock_offset_ms,
        None
    );
}

/// Late results (an outbox backlog after a cut-off) do not vote however the clocks stand:
/// their age says so.
#[test]
fn a_backlog_older_than_the_stale_window_does_not_vote() {
    let mut w = World::new();
    let per_node = REGIONS
        .iter()
        .map(|r| {
            w.seq += 1;
            NodeIngest {
                node: format!("n-{r}"),
                sent_at_ms: Some(500_000),
                items: vec![aged(w.seq, 400_000, 100_000, Down)],
            }
        })
        .collect();
    w.apply(Command::Ingest(IngestBatch {
        received_at_ms: 500_000,
        per_node,
    }));
    assert_eq!(w.health(), Health::Unknown);
    assert!(w
        .notifications()
        .iter()
        .all(|n| n.event != crate::message::AlertEvent::MonitorDown));
}

/// An entry that waited (queued, forwarded, retried through an election) before the leader
/// stamped it is aged by the wait, so its results keep the time they were measured at.
#[test]
fn the_wait_before_the_leader_stamps_is_added_to_every_result_age() {
    let mut w = World::new();
    let mut cmd = batch(
        0,
        "n-eu-west",
        Some(50_000),
        vec![
            aged(1, 49_800, 200, Up),
            rejected(2),
            aged(3, 49_900, 100, Up),
        ],
    );
    // Waited 3 s in two steps (queue, then a retried forward); the leader stamps 53 s.
    cmd.age_by(1_000);
    cmd.age_by(2_000);
    cmd.stamp_leader_clock(53_000);
    let Command::Ingest(b) = &cmd else {
        unreachable!("built as an ingest")
    };
    let ages: Vec<Option<u64>> = b.per_node[0]
        .items
        .iter()
        .map(|i| match i {
            IngestItem::Result(a) => Some(a.age_ms),
            IngestItem::Rejected(_) => None,
        })
        .collect();
    assert_eq!(ages, [Some(3_200), None, Some(3_100)]);
    w.apply(cmd);
    let stored: Vec<i64> =
        w.s.results("mon_a", None, 10)
            .expect("read")
            .iter()
            .map(|r| r.checked_at_ms)
            .collect();
    assert_eq!(
        stored,
        [49_900, 49_800],
        "dated when measured, newest first"
    );
}
