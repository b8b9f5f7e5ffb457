//! When the oldest unacknowledged result was measured, without reading the disk.
//!
//! The edge node's `/metrics` reports the age of the oldest result still waiting for a
//! coordinator: the number that says how far behind delivery is, in time rather than in
//! results. Reading the oldest record back from its segment on every scrape would read up to
//! a whole segment (8 MB) and disturb the sender's read cursor, so the outbox keeps this small
//! index in memory instead.
//!
//! [`PendingAges`] holds spans of sequences with the earliest `checked_at_ms` among them.
//! Appends within [`GRAIN_MS`] of the newest span's start join it, so a node that cannot
//! deliver for a day holds at most one span per grain (and never more than [`MAX_SPANS`]:
//! beyond that neighbouring spans merge). The reported time is the earliest of the span that
//! holds the oldest unacknowledged sequence, so it may be older than that result by up to the
//! span's width (a grain, more after merging): an overstatement of a second while delivery
//! works, and a small fraction of the age when it has been failing for long. Pure: no clock,
//! no I/O.

use std::collections::VecDeque;

/// Appends whose earliest result lies within this many milliseconds of the newest span's
/// earliest one join that span.
pub const GRAIN_MS: i64 = 1_000;

/// Most spans kept; past it, neighbouring spans merge pairwise.
pub const MAX_SPANS: usize = 8_192;

/// Sequence spans and the earliest measurement time in each (see the module docs).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PendingAges {
    /// `(first sequence, earliest checked_at_ms)`, ascending by sequence. A span runs up to the
    /// next span's first sequence (the last one up to the newest result).
    spans: VecDeque<(u64, i64)>,
}

impl PendingAges {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records results `first..` of one append, the earliest measured at `earliest_ms`.
    /// Sequences must grow from call to call (the outbox hands them out in order).
    pub fn appended(&mut self, first: u64, earliest_ms: i64) {
        if let Some(last) = self.spans.back_mut() {
            if earliest_ms.saturating_sub(last.1) < GRAIN_MS {
                last.1 = last.1.min(earliest_ms);
                return;
            }
        }
        self.spans.push_back((first, earliest_ms));
        if self.spans.len() > MAX_SPANS {
            self.merge_pairs();
        }
    }

    /// Forgets the spans holding only sequences up to `up_to` (acknowledged). The newest span
    /// has no known end here: the outbox calls [`PendingAges::clear`] once nothing is pending.
    pub fn acked(&mut self, up_to: u64) {
        while self.spans.len() >= 2 && self.spans[1].0 <= up_to.saturating_add(1) {
            self.spans.pop_front();
        }
    }

    /// Drops everything (nothing is pending).
    pub fn clear(&mut self) {
        self.spans.clear();
    }

    /// When the oldest pending result (sequence `oldest`) was measured, as far as this index
    /// knows: `None` when no span covers it (results stored before this process started and
    /// not seeded, or nothing pending).
    pub fn oldest_ms(&self, oldest: u64) -> Option<i64> {
        let front = self.spans.front()?;
        // A span starting after `oldest` means results before it are of unknown age.
        (front.0 <= oldest).then_some(front.1)
    }

    /// Number of spans held.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether no span is held.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Halves the number of spans: each pair keeps the first's start and the earlier time.
    fn merge_pairs(&mut self) {
        let old = std::mem::take(&mut self.spans);
        let mut it = old.into_iter();
        while let Some((first, ms)) = it.next() {
            let ms = match it.next() {
                Some((_, other)) => ms.min(other),
                None => ms,
            };
            self.spans.push_back((first, ms));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_within_a_grain_share_a_span() {
        let mut a = PendingAges::new();
        a.appended(1, 10_000);
        a.appended(5, 10_400);
        a.appended(9, 10_999);
        assert_eq!(a.len(), 1);
        a.appended(12, 11_000);
        assert_eq!(a.len(), 2);
        assert_eq!(a.oldest_ms(1), Some(10_000));
    }

    #[test]
    fn acknowledging_moves_to_the_span_holding_the_oldest_pending() {
        let mut a = PendingAges::new();
        a.appended(1, 10_000);
        a.appended(11, 20_000);
        a.appended(21, 30_000);
        // 1..=9 acknowledged: result 10 is in the first span still.
        a.acked(9);
        assert_eq!(a.oldest_ms(10), Some(10_000));
        // 1..=10 acknowledged: the oldest pending, 11, starts the second span.
        a.acked(10);
        assert_eq!(a.oldest_ms(11), Some(20_000));
        a.acked(25);
        assert_eq!(a.oldest_ms(26), Some(30_000));
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn an_earlier_result_in_a_later_append_lowers_the_span() {
        // A slow probe's result is appended after faster ones that started later.
        let mut a = PendingAges::new();
        a.appended(1, 10_500);
        a.appended(2, 10_100);
        assert_eq!(a.oldest_ms(1), Some(10_100));
    }

    #[test]
    fn results_from_before_the_index_have_no_known_age() {
        let mut a = PendingAges::new();
        assert_eq!(a.oldest_ms(1), None);
        a.appended(50, 10_000);
        assert_eq!(a.oldest_ms(40), None, "40..50 predate the index");
        assert_eq!(a.oldest_ms(50), Some(10_000));
    }

    #[test]
    fn spans_stay_bounded_and_never_understate_the_age() {
        let mut a = PendingAges::new();
        for i in 0..(MAX_SPANS as u64 * 3) {
            a.appended(i * 10 + 1, i as i64 * GRAIN_MS);
        }
        assert!(a.len() <= MAX_SPANS, "{}", a.len());
        for up_to in [0u64, 1_000, 50_000, 200_000] {
            let mut b = a.clone();
            b.acked(up_to);
            let oldest = up_to + 1;
            // The true time of result `oldest` is ((oldest - 1) / 10) grains.
            let truth = ((oldest - 1) / 10) as i64 * GRAIN_MS;
            let got = b.oldest_ms(oldest).expect("covered");
            assert!(got <= truth, "{up_to}: {got} after {truth}");
        }
    }
}
