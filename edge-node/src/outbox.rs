//! Durable result queue of an edge node.
//!
//! Probes append results here; the session streams them to a coordinator and deletes them only
//! when the coordinator acknowledges them as committed. The queue lives in two trees of the
//! node's sled database:
//!
//! - `outbox.results`: key = sequence number as big-endian `u64` (so sled's byte order is seq
//!   order), value = the postcard-encoded [`CheckResult`].
//! - `outbox.meta`: the sequence high-water mark, so numbers keep increasing across restarts even
//!   when every result has been acknowledged and the results tree is empty. The coordinator drops
//!   results whose sequence it has already committed; a reused number would be silently lost.
//!
//! # Durability
//! sled is durable only after a flush. [`Outbox::push`], [`Outbox::push_many`] and [`Outbox::ack`]
//! flush before they return, and [`Outbox::peek`] only hands out results whose flush has
//! completed: a result that reached a coordinator can therefore never vanish (and its sequence be
//! reused) in a crash.
//!
//! Flushes are serialised with group commit: callers wait for the flush in progress and skip
//! their own if a flush that started after their write has already covered it. Besides saving
//! fsyncs under bursts, this keeps at most one `flush_async` of the outbox in flight, which
//! matters because sled 0.34's `flush_async` blocks a thread of sled's global I/O pool while the
//! write it waits for is queued on that same pool: about seven concurrent calls in one process
//! deadlock it (spacejam/sled#1308, fixed only on the unreleased main branch).
//!
//! # Corrupt entries
//! An entry that does not decode is logged and skipped by `peek`, so it cannot block the queue;
//! it is deleted by the next `ack` whose range covers it.

use std::sync::{
    atomic::{AtomicU64, AtomicUsize, Ordering},
    Arc, Mutex, MutexGuard,
};

use netpulse_protocol::result::CheckResult;
use tokio::sync::{futures::Notified, Notify};

const RESULTS_TREE: &str = "outbox.results";
const META_TREE: &str = "outbox.meta";
const SEQ_HWM_KEY: &[u8] = b"seq_hwm";

/// Why the outbox could not store, read or delete results.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// The underlying sled database failed (I/O error, corruption reported by sled).
    #[error("outbox storage error: {0}")]
    Storage(#[from] sled::Error),
    /// A result could not be serialised.
    #[error("cannot encode result: {0}")]
    Encode(#[from] postcard::Error),
    /// The stored high-water mark is unreadable. Refusing to start is safer than guessing, since a
    /// guess that is too low would reuse sequence numbers the coordinator already committed.
    #[error("corrupt outbox sequence high-water mark ({len} bytes, expected 8)")]
    CorruptMeta {
        /// Length of the stored value.
        len: usize,
    },
    /// Every `u64` sequence number has been used.
    #[error("outbox sequence numbers exhausted")]
    SeqExhausted,
}

/// The durable, sequence-numbered queue of results waiting for a coordinator's acknowledgement.
///
/// Cheap to share behind an `Arc`: every method takes `&self`, so probe tasks push while the
/// session task peeks and acknowledges.
pub struct Outbox {
    /// Pending results, keyed by big-endian sequence number.
    results: sled::Tree,
    /// Holds the sequence high-water mark.
    meta: sled::Tree,
    /// Highest sequence ever handed out (or acknowledged). Held while numbers are assigned and
    /// written, so results enter the tree in sequence order.
    last_seq: Mutex<u64>,
    /// Highest sequence known to be flushed. `peek` stops here so nothing unflushed is sent.
    durable_seq: AtomicU64,
    /// Entry count, kept alongside because `sled::Tree::len` walks the whole tree.
    len: AtomicUsize,
    /// Number of completed write operations (pushes, acks); a flush covers those counted before
    /// it starts.
    written: AtomicU64,
    /// Highest `written` value known to be flushed.
    flushed: AtomicU64,
    /// Serialises flushes (see the module docs).
    flush_lock: tokio::sync::Mutex<()>,
    /// Woken after every durable push, so the sender sleeps while the queue is idle.
    notify: Arc<Notify>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("len", &self.len())
            .field("durable_seq", &self.durable_seq.load(Ordering::Acquire))
            .finish_non_exhaustive()
    }
}

fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

fn key_seq(key: &[u8]) -> Option<u64> {
    key.try_into().ok().map(u64::from_be_bytes)
}

impl Outbox {
    /// Opens (or creates) the outbox trees in `db` and recovers the sequence counter.
    ///
    /// The counter resumes from the larger of the stored high-water mark and the newest stored
    /// key, so it is correct even if a crash persisted one write but not the other.
    pub fn open(db: &sled::Db) -> Result<Self, OutboxError> {
        let results = db.open_tree(RESULTS_TREE)?;
        let meta = db.open_tree(META_TREE)?;

        let stored_hwm = match meta.get(SEQ_HWM_KEY)? {
            None => 0,
            Some(v) => key_seq(&v).ok_or(OutboxError::CorruptMeta { len: v.len() })?,
        };
        let mut newest_key = 0;
        for key in results.iter().keys().rev() {
            let key = key?;
            match key_seq(&key) {
                Some(seq) => {
                    newest_key = seq;
                    break;
                }
                None => tracing::warn!(key = ?key, "ignoring outbox key that is not a sequence"),
            }
        }
        let last = stored_hwm.max(newest_key);
        // sled replays on open exactly what it recovered, so everything present is durable.
        let len = results.len();

        Ok(Outbox {
            results,
            meta,
            last_seq: Mutex::new(last),
            durable_seq: AtomicU64::new(last),
            len: AtomicUsize::new(len),
            written: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            flush_lock: tokio::sync::Mutex::new(()),
            notify: Arc::new(Notify::new()),
        })
    }

    /// Assigns the next sequence number, stores the result and flushes before returning, so the
    /// returned sequence is durable. The `seq` field of `result` is overwritten.
    ///
    /// An error after the write (a failed flush) leaves the outcome unknown: the result may still
    /// become durable with a later flush and be sent.
    pub async fn push(&self, result: CheckResult) -> Result<u64, OutboxError> {
        let seqs = self.push_many(vec![result]).await?;
        // push_many returns exactly one sequence per result.
        Ok(seqs[0])
    }

    /// Like [`Outbox::push`] for many results, with a single flush: the cheap way to store a
    /// burst of results. Sequences are consecutive and returned in input order.
    pub async fn push_many(&self, mut results: Vec<CheckResult>) -> Result<Vec<u64>, OutboxError> {
        self.push_slice(&mut results).await
    }

    /// Like [`Outbox::push_many`], but borrows the results (their `seq` fields are set to the
    /// assigned numbers), so a caller can retry a failed write without copying them first.
    pub async fn push_slice(&self, results: &mut [CheckResult]) -> Result<Vec<u64>, OutboxError> {
        if results.is_empty() {
            return Ok(Vec::new());
        }
        let seqs = self.append(results)?;
        let written = self.written.fetch_add(1, Ordering::AcqRel) + 1;
        self.make_durable(written).await?;
        // `notify_one` keeps a permit if the sender is not waiting yet: no lost wake-ups.
        self.notify.notify_one();
        Ok(seqs)
    }

    /// Numbers and writes `results` (not yet flushed).
    fn append(&self, results: &mut [CheckResult]) -> Result<Vec<u64>, OutboxError> {
        let mut last = self.lock_last_seq();
        let mut next = *last;
        let mut seqs = Vec::with_capacity(results.len());
        let mut batch = sled::Batch::default();
        for result in results.iter_mut() {
            next = next.checked_add(1).ok_or(OutboxError::SeqExhausted)?;
            result.seq = next;
            batch.insert(&seq_key(next), postcard::to_allocvec(&*result)?);
            seqs.push(next);
        }
        self.results.apply_batch(batch)?;
        // Once the entries are in the tree their numbers are spent, whatever happens next.
        *last = next;
        self.len.fetch_add(seqs.len(), Ordering::AcqRel);
        self.meta.insert(SEQ_HWM_KEY, &seq_key(next))?;
        Ok(seqs)
    }

    /// The oldest unacknowledged results after `after_seq` (from the start if `None`), in
    /// sequence order: at most `max` of them and at most `max_bytes` of encoded results.
    ///
    /// `after_seq` lets the sender pipeline batches without waiting for acknowledgements. The byte
    /// budget counts each result's postcard encoding, which is what it adds to a
    /// `ResultBatch` frame (plus a few bytes of framing). The first result is returned even if it
    /// alone exceeds `max_bytes`, so one oversized result cannot stall the queue. Only flushed
    /// results are returned; undecodable entries are logged and skipped.
    pub fn peek(
        &self,
        after_seq: Option<u64>,
        max: usize,
        max_bytes: usize,
    ) -> Result<Vec<CheckResult>, OutboxError> {
        let durable = self.durable_seq.load(Ordering::Acquire);
        let start = match after_seq {
            None => 0,
            Some(seq) => match seq.checked_add(1) {
                Some(start) => start,
                None => return Ok(Vec::new()),
            },
        };
        if max == 0 || start > durable {
            return Ok(Vec::new());
        }

        let mut out = Vec::new();
        let mut bytes = 0usize;
        for item in self.results.range(seq_key(start)..=seq_key(durable)) {
            let (key, value) = item?;
            let Some(seq) = key_seq(&key) else {
                tracing::warn!(key = ?key, "skipping outbox key that is not a sequence");
                continue;
            };
            match postcard::from_bytes::<CheckResult>(&value) {
                Ok(mut result) => {
                    if !out.is_empty() && bytes.saturating_add(value.len()) > max_bytes {
                        break;
                    }
                    bytes = bytes.saturating_add(value.len());
                    // The key is authoritative.
                    result.seq = seq;
                    out.push(result);
                    if out.len() >= max {
                        break;
                    }
                }
                Err(error) => tracing::warn!(
                    seq,
                    %error,
                    len = value.len(),
                    "skipping undecodable outbox entry; it is deleted by the next ack covering it"
                ),
            }
        }
        Ok(out)
    }

    /// Deletes every result with `seq <= up_to` (including undecodable ones) and flushes.
    /// Returns how many entries were deleted; acknowledging the same range again deletes nothing.
    ///
    /// An acknowledgement above the highest sequence ever assigned (the coordinator remembers
    /// more than this node does, e.g. after its disk was replaced) raises the counter, so new
    /// results are not discarded by the coordinator as already committed.
    pub async fn ack(&self, up_to: u64) -> Result<usize, OutboxError> {
        let mut removed = 0usize;
        for key in self.results.range(..=seq_key(up_to)).keys() {
            let key = key?;
            if self.results.remove(&key)?.is_some() {
                removed += 1;
            }
        }
        // Exact because `remove` reports whether this call deleted the entry.
        let _ = self
            .len
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_sub(removed))
            });
        {
            let mut last = self.lock_last_seq();
            if up_to > *last {
                *last = up_to;
                self.meta.insert(SEQ_HWM_KEY, &seq_key(up_to))?;
            }
        }
        // Always counts as a write, so that retrying an ack whose flush failed makes the
        // deletion durable.
        let written = self.written.fetch_add(1, Ordering::AcqRel) + 1;
        self.make_durable(written).await?;
        Ok(removed)
    }

    /// Returns once write operation number `written` is on disk, flushing unless a flush that
    /// started after it already finished.
    async fn make_durable(&self, written: u64) -> Result<(), OutboxError> {
        let _flushing = self.flush_lock.lock().await;
        if self.flushed.load(Ordering::Acquire) >= written {
            return Ok(());
        }
        // What this flush will cover: every write operation completed so far (ours included),
        // and every sequence assigned so far, since entries are in the tree before `last_seq`
        // moves past them. sled's flush persists every write issued before it, in every tree of
        // the database (they share one log), so the high-water mark is covered too.
        let covers = self.written.load(Ordering::Acquire);
        let covers_seq = *self.lock_last_seq();
        // A blocking flush on Tokio's pool: sled's `flush_async` parks one of sled's own I/O
        // threads, and several outboxes (or a coordinator) in one process can exhaust them.
        let tree = self.results.clone();
        tokio::task::spawn_blocking(move || tree.flush())
            .await
            .map_err(|e| {
                sled::Error::Io(std::io::Error::other(format!("flush task failed: {e}")))
            })??;
        self.flushed.fetch_max(covers, Ordering::AcqRel);
        self.durable_seq.fetch_max(covers_seq, Ordering::AcqRel);
        Ok(())
    }

    /// Number of entries waiting for acknowledgement (undecodable ones included).
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Whether nothing waits for acknowledgement.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sequence of the oldest unacknowledged entry: how far the coordinator is behind.
    /// `None` when empty (a storage error is logged and also reported as `None`).
    pub fn oldest_seq(&self) -> Option<u64> {
        for item in self.results.iter().keys() {
            match item {
                Ok(key) => {
                    if let Some(seq) = key_seq(&key) {
                        return Some(seq);
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot read the oldest outbox entry");
                    return None;
                }
            }
        }
        None
    }

    /// A future that completes after the next durable push (or at once if one happened since the
    /// last wake-up), so the sender can sleep while there is nothing to send.
    pub fn notified(&self) -> Notified<'_> {
        self.notify.notified()
    }

    /// The push notification as a shareable handle, for a sender that does not hold the outbox
    /// itself.
    pub fn notify_handle(&self) -> Arc<Notify> {
        Arc::clone(&self.notify)
    }

    fn lock_last_seq(&self) -> MutexGuard<'_, u64> {
        // The guarded value is a plain counter that is never left half-updated, so a panic in
        // another holder does not invalidate it.
        self.last_seq
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::{path::Path, sync::Arc, time::Duration};

    use netpulse_protocol::result::{CheckStatus, ErrorClass, ProbeError};

    use super::*;

    /// Opens without sled's background flusher, so only the outbox's flushes persist anything.
    /// Retries briefly: after a drop, sled's I/O threads may hold the file lock for a moment.
    fn open_db(path: &Path) -> sled::Db {
        let mut attempts = 0;
        loop {
            match sled::Config::new().path(path).flush_every_ms(None).open() {
                Ok(db) => return db,
                Err(_) if attempts < 100 => {
                    attempts += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("open sled: {e}"),
            }
        }
    }

    fn result(monitor: &str) -> CheckResult {
        CheckResult {
            seq: 0,
            monitor_id: monitor.to_string(),
            revision: 1,
            checked_at_ms: 1_790_000_000_000,
            status: CheckStatus::Up,
            duration_us: 1_000,
            error: None,
            metrics: vec![("total_us".into(), 1_000.0)],
            detail: None,
            facts: Vec::new(),
            impaired: false,
        }
    }

    fn seqs(results: &[CheckResult]) -> Vec<u64> {
        results.iter().map(|r| r.seq).collect()
    }

    fn ids(results: &[CheckResult]) -> Vec<&str> {
        results.iter().map(|r| r.monitor_id.as_str()).collect()
    }

    #[tokio::test]
    async fn push_peek_ack_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(dir.path());
        let outbox = Outbox::open(&db).unwrap();
        assert!(outbox.is_empty());
        assert_eq!(outbox.oldest_seq(), None);
        assert_eq!(outbox.peek(None, 10, usize::MAX).unwrap(), vec![]);

        let mut r = result("a");
        r.seq = 999; // overwritten
        assert_eq!(outbox.push(r).await.unwrap(), 1);
        assert_eq!(outbox.push(result("b")).await.unwrap(), 2);
        let many = vec![result("c"), result("d"), result("e")];
        assert_eq!(outbox.push_many(many).await.unwrap(), vec![3, 4, 5]);
        assert_eq!(outbox.push_many(vec![]).await.unwrap(), Vec::<u64>::new());
        assert_eq!(outbox.len(), 5);
        assert_eq!(outbox.oldest_seq(), Some(1));

        let all = outbox.peek(None, 100, usize::MAX).unwrap();
        assert_eq!(seqs(&all), vec![1, 2, 3, 4, 5]);
        assert_eq!(ids(&all), vec!["a", "b", "c", "d", "e"]);

        // Pipelining: continue after what was already sent.
        assert_eq!(
            seqs(&outbox.peek(Some(3), 100, usize::MAX).unwrap()),
            vec![4, 5]
        );
        assert_eq!(outbox.peek(Some(5), 100, usize::MAX).unwrap(), vec![]);
        assert_eq!(
            outbox.peek(Some(u64::MAX), 100, usize::MAX).unwrap(),
            vec![]
        );

        assert_eq!(outbox.ack(2).await.unwrap(), 2);
        assert_eq!(outbox.len(), 3);
        assert_eq!(outbox.oldest_seq(), Some(3));
        assert_eq!(
            seqs(&outbox.peek(None, 100, usize::MAX).unwrap()),
            vec![3, 4, 5]
        );

        assert_eq!(outbox.ack(5).await.unwrap(), 3);
        assert!(outbox.is_empty());
        assert_eq!(outbox.oldest_seq(), None);
        assert_eq!(outbox.push(result("f")).await.unwrap(), 6);
    }

    #[tokio::test]
    async fn seq_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = open_db(dir.path());
            let outbox = Outbox::open(&db).unwrap();
            for i in 0..10 {
                outbox.push(result(&format!("m{i}"))).await.unwrap();
            }
            outbox.ack(4).await.unwrap();
        }
        let db = open_db(dir.path());
        let outbox = Outbox::open(&db).unwrap();
        assert_eq!(outbox.len(), 6);
        assert_eq!(outbox.oldest_seq(), Some(5));
        let pending = outbox.peek(None, 100, usize::MAX).unwrap();
        assert_eq!(seqs(&pending), (5..=10).collect::<Vec<_>>());
        assert_eq!(pending[0].monitor_id, "m4");
        assert_eq!(outbox.push(result("next")).await.unwrap(), 11);
    }

    #[tokio::test]
    async fn seq_keeps_increasing_after_full_ack_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut highest = 0;
        for round in 0..3 {
            let db = open_db(dir.path());
            let outbox = Outbox::open(&db).unwrap();
            assert!(outbox.is_empty(), "round {round}");
            let got = outbox.push_many(vec![result("x"); 3]).await.unwrap();
            assert!(got[0] > highest, "round {round}: {got:?} after {highest}");
            highest = got[2];
            assert_eq!(outbox.ack(highest).await.unwrap(), 3);
        }
        assert_eq!(highest, 9);
    }

    /// The counter resumes from the newest key when the stored mark lags behind it (a crash that
    /// kept the result but not the mark), and from the mark when the tree is empty.
    #[tokio::test]
    async fn seq_recovers_from_newest_key_when_mark_lags() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = open_db(dir.path());
            let outbox = Outbox::open(&db).unwrap();
            outbox.push_many(vec![result("x"); 7]).await.unwrap();
            outbox.meta.insert(SEQ_HWM_KEY, &seq_key(2)).unwrap();
            db.flush().unwrap();
        }
        let db = open_db(dir.path());
        let outbox = Outbox::open(&db).unwrap();
        assert_eq!(outbox.push(result("y")).await.unwrap(), 8);
    }

    #[tokio::test]
    async fn corrupt_mark_refuses_to_open() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(dir.path());
        db.open_tree(META_TREE)
            .unwrap()
            .insert(SEQ_HWM_KEY, &b"abc"[..])
            .unwrap();
        assert!(matches!(
            Outbox::open(&db),
            Err(OutboxError::CorruptMeta { len: 3 })
        ));
    }

    #[tokio::test]
    async fn ack_is_idempotent_and_partial() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(dir.path());
        let outbox = Outbox::open(&db).unwrap();
        outbox.push_many(vec![result("x"); 6]).await.unwrap();

        assert_eq!(outbox.ack(0).await.unwrap(), 0);
        assert_eq!(outbox.ack(3).await.unwrap(), 3);
        assert_eq!(outbox.ack(3).await.unwrap(), 0);
        assert_eq!(
            outbox.ack(2).await.unwrap(),
            0,
            "an older ack deletes nothing"
        );
        assert_eq!(outbox.len(), 3);
        assert_eq!(
            seqs(&outbox.peek(None, 10, usize::MAX).unwrap()),
            vec![4, 5, 6]
        );
        assert_eq!(outbox.ack(4).await.unwrap(), 1);
        assert_eq!(outbox.ack(4).await.unwrap(), 0);
        assert_eq!(outbox.oldest_seq(), Some(5));
        assert_eq!(outbox.len(), 2);
    }

    #[tokio::test]
    async fn ack_beyond_assigned_raises_the_counter() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = open_db(dir.path());
            let outbox = Outbox::open(&db).unwrap();
            outbox.push(result("x")).await.unwrap();
            // The coordinator already committed up to 500 for this node (lost local state).
            assert_eq!(outbox.ack(500).await.unwrap(), 1);
            assert_eq!(outbox.push(result("y")).await.unwrap(), 501);
            outbox.ack(501).await.unwrap();
        }
        let db = open_db(dir.path());
        let outbox = Outbox::open(&db).unwrap();
        assert_eq!(outbox.push(result("z")).await.unwrap(), 502);
    }

    #[tokio::test]
    async fn peek_respects_max_and_max_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(dir.path());
        let outbox = Outbox::open(&db).unwrap();
        outbox
            .push_many(vec![result("same-size"); 10])
            .await
            .unwrap();
        let one = postcard::to_allocvec(&outbox.peek(None, 1, usize::MAX).unwrap()[0])
            .unwrap()
            .len();

        assert_eq!(outbox.peek(None, 0, usize::MAX).unwrap(), vec![]);
        assert_eq!(
            seqs(&outbox.peek(None, 4, usize::MAX).unwrap()),
            vec![1, 2, 3, 4]
        );
        assert_eq!(
            seqs(&outbox.peek(Some(8), 4, usize::MAX).unwrap()),
            vec![9, 10]
        );

        // Exactly three fit; one byte less and only two do.
        assert_eq!(outbox.peek(None, 100, 3 * one).unwrap().len(), 3);
        assert_eq!(outbox.peek(None, 100, 3 * one - 1).unwrap().len(), 2);
        // Both limits: the tighter one wins.
        assert_eq!(outbox.peek(None, 2, 3 * one).unwrap().len(), 2);
        // A budget below one result still yields one, so a big result cannot stall the queue.
        assert_eq!(seqs(&outbox.peek(None, 100, 1).unwrap()), vec![1]);
        assert_eq!(seqs(&outbox.peek(None, 100, 0).unwrap()), vec![1]);
    }

    #[tokio::test]
    async fn corrupt_entry_is_skipped_and_deleted_by_covering_ack() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(dir.path());
        let outbox = Outbox::open(&db).unwrap();
        outbox
            .push_many(vec![result("a"), result("b"), result("c")])
            .await
            .unwrap();
        // Seq 2 becomes garbage on disk: a truncated value.
        outbox
            .results
            .insert(seq_key(2), &[0xff, 0xff, 0xff][..])
            .unwrap();

        let got = outbox.peek(None, 10, usize::MAX).unwrap();
        assert_eq!(seqs(&got), vec![1, 3]);
        assert_eq!(ids(&got), vec!["a", "c"]);
        // Corrupt entries do not count towards `max`: the queue still moves.
        assert_eq!(seqs(&outbox.peek(Some(1), 1, usize::MAX).unwrap()), vec![3]);
        assert_eq!(outbox.len(), 3);

        assert_eq!(outbox.ack(1).await.unwrap(), 1);
        assert_eq!(outbox.oldest_seq(), Some(2), "not covered yet");
        assert_eq!(
            outbox.ack(3).await.unwrap(),
            2,
            "covering ack deletes the corrupt entry"
        );
        assert!(outbox.is_empty());
        assert_eq!(outbox.oldest_seq(), None);
        assert_eq!(outbox.push(result("d")).await.unwrap(), 4);
    }

    #[tokio::test]
    async fn errors_and_metrics_survive_storage() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(dir.path());
        let outbox = Outbox::open(&db).unwrap();
        let mut r = result("down");
        r.status = CheckStatus::Down;
        r.error = Some(ProbeError {
            class: ErrorClass::Refused,
            message: "ECONNREFUSED".into(),
        });
        r.metrics = vec![("connect_us".into(), 12.5), ("status".into(), 0.0)];
        let seq = outbox.push(r.clone()).await.unwrap();
        r.seq = seq;
        assert_eq!(outbox.peek(None, 1, usize::MAX).unwrap(), vec![r]);
    }

    #[tokio::test]
    async fn push_wakes_the_sender() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(dir.path());
        let outbox = Arc::new(Outbox::open(&db).unwrap());
        let handle = outbox.notify_handle();

        // Nothing pushed yet: no wake-up.
        let idle = tokio::time::timeout(Duration::from_millis(50), handle.notified()).await;
        assert!(idle.is_err(), "woken without a push");

        let sender = tokio::spawn({
            let outbox = Arc::clone(&outbox);
            async move {
                outbox.notified().await;
                outbox.peek(None, 10, usize::MAX).unwrap()
            }
        });
        outbox.push(result("a")).await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), sender)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(seqs(&got), vec![1]);

        // A push while nobody waits is remembered for the next wait.
        outbox.push(result("b")).await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), handle.notified())
            .await
            .unwrap();
    }

    /// Many concurrent pushes: unique, gap-free, per-task increasing sequences, each visible
    /// once its push returns. Also guards against sled's `flush_async` deadlock (sled#1308), which
    /// unserialised flushes from this many tasks hit within a few runs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_pushes_get_unique_increasing_seqs() {
        const TASKS: u64 = 16;
        const PER_TASK: u64 = 20;
        let dir = tempfile::tempdir().unwrap();
        let db = open_db(dir.path());
        let outbox = Arc::new(Outbox::open(&db).unwrap());
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let outbox = Arc::clone(&outbox);
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    for i in 0..PER_TASK {
                        let seq = outbox.push(result(&format!("t{t}-{i}"))).await.unwrap();
                        // Our result is visible as soon as push returns.
                        let seen = outbox.peek(Some(seq - 1), 1, usize::MAX).unwrap();
                        assert_eq!(seqs(&seen), vec![seq]);
                        mine.push(seq);
                    }
                    if t % 4 == 0 {
                        // Acks racing with pushes go through the same flush path.
                        outbox.ack(0).await.unwrap();
                    }
                    mine
                })
            })
            .collect();
        let all = tokio::time::timeout(Duration::from_secs(60), async {
            let mut all = Vec::new();
            for task in tasks {
                let mine = task.await.unwrap();
                assert!(mine.windows(2).all(|w| w[0] < w[1]), "{mine:?}");
                all.extend(mine);
            }
            all
        })
        .await
        .expect("pushes stalled (flush deadlock?)");
        let mut all = all;
        all.sort_unstable();
        assert_eq!(all, (1..=TASKS * PER_TASK).collect::<Vec<_>>());
        assert_eq!(outbox.len() as u64, TASKS * PER_TASK);
        assert_eq!(seqs(&outbox.peek(None, 1000, usize::MAX).unwrap()), all);
    }
}
