//! Durable result queue of an edge node.
//!
//! Probes append results here; the session streams them to a coordinator and drops them only when
//! the coordinator acknowledges them as committed. The queue is an append-only log in its own
//! directory (`DATA_DIR/outbox/`), split into segment files (format in [`segment`]):
//!
//! - a batch of results is one `write` and one `fdatasync`;
//! - an acknowledgement moves a mark and deletes the segments it covers entirely (the newest
//!   segment stays, so numbering survives a restart even when everything was acknowledged);
//! - a read is a `pread` of the bytes after a cursor, which is where the previous read stopped.
//!
//! Before this log the outbox was a pair of sled trees. A result queue needs none of a B-tree's
//! features, and sled's page cache and I/O thread pool (whose every job woke seven threads) cost
//! about a quarter of an edge node's CPU at 500 checks/s (issue 4's profile).
//!
//! # Durability
//! [`Outbox::push_slice`] (and `push`, `push_many`) return once the results are on disk, and
//! [`Outbox::peek`] only hands out results whose sync has completed: a result that reached a
//! coordinator can never vanish (and its sequence be reused) in a crash. Syncs are serialised
//! with group commit: callers wait for the sync in progress and skip their own if one that
//! started after their write already covered it.
//!
//! Acknowledgements are written (to the `acked` file) but not synced: they survive a process
//! crash, and a power loss may forget the newest of them. The cost of forgetting is only that
//! results the coordinator already committed are offered again, which it drops by sequence;
//! the session also acknowledges the coordinator's committed sequence (from its `Welcome`)
//! before sending anything.
//!
//! # Damage
//! A torn tail of the newest segment (a crash during a write that was never reported durable)
//! is cut off when the outbox opens. A record whose checksum fails is logged and skipped by
//! `peek`, so it cannot block the queue; it counts as pending until an acknowledgement covers it.

pub mod age;
mod segment;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use netpulse_protocol::result::CheckResult;
use tokio::sync::{futures::Notified, Notify};

use age::PendingAges;
use segment::{Item, Reader};

/// Size at which the newest segment is closed and a new one started. Acknowledged results leave
/// the disk a segment at a time, so this bounds the space held by results already delivered.
pub const SEGMENT_BYTES: u64 = 8 << 20;

/// File holding the acknowledgement mark: the sequence (u64 LE) and its CRC-32 (u32 LE).
const ACK_FILE: &str = "acked";

/// Why the outbox could not store, read or delete results.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// A file operation failed.
    #[error("outbox {op} {}: {source}", path.display())]
    Io {
        /// What was being done ("write", "sync", "open", ...).
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A result could not be serialised.
    #[error("cannot encode result: {0}")]
    Encode(#[from] postcard::Error),
    /// Every `u64` sequence number has been used.
    #[error("outbox sequence numbers exhausted")]
    SeqExhausted,
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> OutboxError + 'a {
    move |source| OutboxError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

/// One segment file; its first sequence (its name) is its key in `State::segments`.
#[derive(Debug)]
struct Segment {
    /// Sequence its next record would carry: one past its last.
    next: u64,
    /// Bytes of whole records; appends go here.
    size: u64,
    file: Arc<File>,
}

/// Where the last read stopped, so the next one resumes there instead of scanning its segment.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    /// Sequence of the record at `offset`.
    seq: u64,
    /// The segment (by first sequence).
    segment: u64,
    offset: u64,
}

#[derive(Debug)]
struct State {
    /// By first sequence; never empty once open. The last one is the one appended to.
    segments: BTreeMap<u64, Segment>,
    /// Highest sequence ever handed out (or acknowledged).
    last_seq: u64,
    /// Highest sequence acknowledged.
    acked: u64,
    cursor: Option<Cursor>,
    /// Segment files written since the last sync.
    dirty: Vec<Arc<File>>,
    /// A segment file was created since the last sync, so the directory needs one too.
    dir_dirty: bool,
    ack_file: File,
    /// When the pending results were measured, coarsely (for the oldest one's age).
    ages: PendingAges,
}

/// The durable, sequence-numbered queue of results waiting for a coordinator's acknowledgement.
///
/// Cheap to share behind an `Arc`: every method takes `&self`, so the result writer pushes while
/// the session task peeks and acknowledges.
pub struct Outbox {
    dir: PathBuf,
    segment_bytes: u64,
    state: Mutex<State>,
    /// Highest sequence known to be on disk. `peek` stops here so nothing unsynced is sent.
    durable_seq: AtomicU64,
    /// Serialises syncs (group commit).
    sync_lock: tokio::sync::Mutex<()>,
    /// Woken after every durable push, so the sender sleeps while the queue is idle.
    notify: Arc<Notify>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("dir", &self.dir)
            .field("len", &self.len())
            .field("durable_seq", &self.durable_seq.load(Ordering::Acquire))
            .finish_non_exhaustive()
    }
}

/// Opens a segment file for reading and appending (created if missing).
fn open_segment(path: &Path) -> Result<File, OutboxError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_err("open", path))
}

/// The acknowledgement mark in `file`, if it holds a whole, intact one.
fn read_ack_mark(file: &File) -> Option<u64> {
    let mut buf = [0u8; 12];
    file.read_exact_at(&mut buf, 0).ok()?;
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&buf[..8]);
    let mut crc = [0u8; 4];
    crc.copy_from_slice(&buf[8..]);
    (crc32fast::hash(&seq) == u32::from_le_bytes(crc)).then(|| u64::from_le_bytes(seq))
}

impl Outbox {
    /// Opens (or creates) the outbox in `dir`, recovering its segments.
    pub fn open(dir: &Path) -> Result<Self, OutboxError> {
        Self::open_with_segment_bytes(dir, SEGMENT_BYTES)
    }

    /// Like [`Outbox::open`] with another segment size: small ones let tests exercise segment
    /// turnover.
    pub fn open_with_segment_bytes(dir: &Path, segment_bytes: u64) -> Result<Self, OutboxError> {
        std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
        let mut firsts = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_err("list", dir))? {
            let entry = entry.map_err(io_err("list", dir))?;
            match entry.file_name().to_str().and_then(segment::parse_name) {
                Some(first) => firsts.push(first),
                None if entry.file_name() == ACK_FILE => {}
                None => tracing::warn!(file = ?entry.path(), "ignoring unknown file in the outbox"),
            }
        }
        firsts.sort_unstable();

        let mut segments = BTreeMap::new();
        let newest = firsts.last().copied();
        for first in firsts {
            let path = segment::path(dir, first);
            let file = open_segment(&path)?;
            let len = file.metadata().map_err(io_err("stat", &path))?.len();
            let (next, size) = recover(&file, &path, first, len)?;
            if size < len {
                if Some(first) == newest {
                    // Never reported durable: cut it off so appends continue after whole records.
                    tracing::warn!(file = ?path, kept = size, dropped = len - size, "cutting a torn tail off the outbox");
                    file.set_len(size).map_err(io_err("truncate", &path))?;
                    file.sync_all().map_err(io_err("sync", &path))?;
                } else {
                    tracing::warn!(file = ?path, after_seq = next.saturating_sub(1), "unreadable data in an older outbox segment; results after it in this segment are lost");
                }
            }
            segments.insert(
                first,
                Segment {
                    next,
                    size,
                    file: Arc::new(file),
                },
            );
        }

        let ack_path = dir.join(ACK_FILE);
        let ack_file = open_segment(&ack_path)?;
        let oldest = segments.keys().next().map(|first| first.saturating_sub(1));
        let mark = read_ack_mark(&ack_file);
        let newest_seq = segments
            .values()
            .next_back()
            .map(|s| s.next.saturating_sub(1))
            .unwrap_or(0);
        let last_seq = newest_seq.max(mark.unwrap_or(0));
        // Without a mark, everything present counts as unacknowledged; the coordinator's
        // `Welcome` settles it.
        let acked = mark
            .or(oldest)
            .unwrap_or(last_seq)
            .max(oldest.unwrap_or(0))
            .min(last_seq);

        let outbox = Outbox {
            dir: dir.to_owned(),
            segment_bytes: segment_bytes.max(1),
            state: Mutex::new(State {
                segments,
                last_seq,
                acked,
                cursor: None,
                dirty: Vec::new(),
                dir_dirty: false,
                ack_file,
                ages: PendingAges::new(),
            }),
            durable_seq: AtomicU64::new(last_seq),
            sync_lock: tokio::sync::Mutex::new(()),
            notify: Arc::new(Notify::new()),
        };
        {
            let mut state = outbox.lock();
            outbox.ensure_active(&mut state, false)?;
            outbox.drop_acked_segments(&mut state);
            if let Some((seq, ms)) = first_pending(&state, dir) {
                state.ages.appended(seq, ms);
            }
        }
        // Make a newly created first segment (the numbering's only record) durable at once.
        let dir_dirty = std::mem::take(&mut outbox.lock().dir_dirty);
        if dir_dirty {
            sync_dir(dir)?;
        }
        Ok(outbox)
    }

    /// Assigns the next sequence number, stores the result and syncs before returning, so the
    /// returned sequence is durable. The `seq` field of `result` is overwritten.
    ///
    /// An error after the write (a failed sync) leaves the outcome unknown: the result may still
    /// become durable with a later sync and be sent.
    pub async fn push(&self, result: CheckResult) -> Result<u64, OutboxError> {
        let seqs = self.push_many(vec![result]).await?;
        // push_many returns exactly one sequence per result.
        Ok(seqs[0])
    }

    /// Like [`Outbox::push`] for many results, with a single sync: the cheap way to store a
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
        let last = seqs.last().copied().unwrap_or(0);
        self.make_durable(last).await?;
        // `notify_one` keeps a permit if the sender is not waiting yet: no lost wake-ups.
        self.notify.notify_one();
        Ok(seqs)
    }

    /// Numbers and writes `results` (not yet synced).
    fn append(&self, results: &mut [CheckResult]) -> Result<Vec<u64>, OutboxError> {
        let mut state = self.lock();
        self.ensure_active(&mut state, true)?;
        let first = state.last_seq + 1;
        let mut seqs = Vec::with_capacity(results.len());
        let mut buf = Vec::with_capacity(results.len() * 256);
        for (i, result) in results.iter_mut().enumerate() {
            let seq = first
                .checked_add(i as u64)
                .ok_or(OutboxError::SeqExhausted)?;
            result.seq = seq;
            segment::append_record(&mut buf, seq, |b| {
                let out = postcard::to_extend(&*result, std::mem::take(b))?;
                *b = out;
                Ok::<_, OutboxError>(())
            })?;
            seqs.push(seq);
        }
        let (path, file, offset) = {
            let (first, active) = state
                .segments
                .iter()
                .next_back()
                .ok_or(OutboxError::SeqExhausted)?;
            (
                segment::path(&self.dir, *first),
                active.file.clone(),
                active.size,
            )
        };
        // A failed write leaves `size` where it was, so the next append overwrites whatever part
        // of this one reached the file.
        file.write_all_at(&buf, offset)
            .map_err(io_err("write", &path))?;
        let next = first + results.len() as u64;
        if let Some(active) = state.segments.values_mut().next_back() {
            active.size += buf.len() as u64;
            active.next = next;
        }
        state.last_seq = next - 1;
        if let Some(earliest) = results.iter().map(|r| r.checked_at_ms).min() {
            state.ages.appended(first, earliest);
        }
        if !state.dirty.iter().any(|f| Arc::ptr_eq(f, &file)) {
            state.dirty.push(file);
        }
        Ok(seqs)
    }

    /// Starts a new segment when there is none, when the newest one does not continue the
    /// numbering (after an acknowledgement beyond it), or, if `for_append`, when it is full.
    fn ensure_active(&self, state: &mut State, for_append: bool) -> Result<(), OutboxError> {
        let next = state
            .last_seq
            .checked_add(1)
            .ok_or(OutboxError::SeqExhausted)?;
        let reusable = state
            .segments
            .values()
            .next_back()
            .is_some_and(|s| s.next == next && !(for_append && s.size >= self.segment_bytes));
        if reusable {
            return Ok(());
        }
        let path = segment::path(&self.dir, next);
        let file = open_segment(&path)?;
        // A leftover file of that name holds nothing valid for this numbering.
        file.set_len(0).map_err(io_err("truncate", &path))?;
        state.segments.insert(
            next,
            Segment {
                next,
                size: 0,
                file: Arc::new(file),
            },
        );
        state.dir_dirty = true;
        Ok(())
    }

    /// Deletes every segment but the newest whose records are all acknowledged.
    fn drop_acked_segments(&self, state: &mut State) {
        let newest = state.segments.keys().next_back().copied();
        let done: Vec<u64> = state
            .segments
            .iter()
            .filter(|(first, s)| Some(**first) != newest && s.next <= state.acked.saturating_add(1))
            .map(|(first, _)| *first)
            .collect();
        for first in done {
            state.segments.remove(&first);
            let path = segment::path(&self.dir, first);
            // If the deletion is lost in a crash, the segment's results are offered again and
            // dropped by the coordinator as already committed.
            if let Err(error) = std::fs::remove_file(&path) {
                if error.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(file = ?path, %error, "cannot delete an acknowledged outbox segment");
                }
            }
        }
    }

    /// The oldest unacknowledged results after `after_seq` (from the start if `None`), in
    /// sequence order: at most `max` of them and at most `max_bytes` of encoded results.
    ///
    /// `after_seq` lets the sender pipeline batches without waiting for acknowledgements. The
    /// byte budget counts each result's postcard encoding, which is what it adds to a
    /// `ResultBatch` frame (plus a few bytes of framing). The first result is returned even if it
    /// alone exceeds `max_bytes`, so one oversized result cannot stall the queue. Only synced
    /// results are returned; damaged records are logged and skipped.
    pub fn peek(
        &self,
        after_seq: Option<u64>,
        max: usize,
        max_bytes: usize,
    ) -> Result<Vec<CheckResult>, OutboxError> {
        let durable = self.durable_seq.load(Ordering::Acquire);
        let (start, cursor, segments) = {
            let state = self.lock();
            let start = match after_seq {
                None => 0,
                Some(seq) => match seq.checked_add(1) {
                    Some(start) => start,
                    None => return Ok(Vec::new()),
                },
            }
            .max(state.acked.saturating_add(1));
            if max == 0 || start > durable {
                return Ok(Vec::new());
            }
            // From the segment holding `start` on.
            let from = state
                .segments
                .range(..=start)
                .next_back()
                .map_or(0, |(first, _)| *first);
            let segments: Vec<(u64, u64, u64, Arc<File>)> = state
                .segments
                .range(from..)
                .map(|(first, s)| (*first, s.next, s.size, s.file.clone()))
                .collect();
            (start, state.cursor, segments)
        };

        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut stopped_at = None;
        'segments: for (first, next, size, file) in &segments {
            if *next <= start {
                continue;
            }
            let path = segment::path(&self.dir, *first);
            let mut reader = match cursor {
                Some(c) if c.segment == *first && c.seq == start && c.offset <= *size => {
                    Reader::new(file, c.offset, *size, c.seq)
                }
                _ => Reader::new(file, 0, *size, *first),
            };
            loop {
                if reader.next_seq() > durable {
                    stopped_at = Some((reader.next_seq(), *first, reader.offset()));
                    break 'segments;
                }
                let at = (reader.next_seq(), reader.offset());
                match reader.next_item().map_err(io_err("read", &path))? {
                    Item::End => continue 'segments,
                    Item::Damaged { seq } => {
                        if seq >= start {
                            tracing::warn!(seq, file = ?path, "skipping a damaged outbox record; it is dropped by the next ack covering it");
                        }
                    }
                    Item::Record { seq, payload } => {
                        if seq < start {
                            continue;
                        }
                        if !out.is_empty() && bytes.saturating_add(payload.len()) > max_bytes {
                            stopped_at = Some((at.0, *first, at.1));
                            break 'segments;
                        }
                        match postcard::from_bytes::<CheckResult>(&payload) {
                            Ok(mut result) => {
                                bytes = bytes.saturating_add(payload.len());
                                // The record's sequence is authoritative.
                                result.seq = seq;
                                out.push(result);
                                if out.len() >= max {
                                    stopped_at = Some((reader.next_seq(), *first, reader.offset()));
                                    break 'segments;
                                }
                            }
                            Err(error) => {
                                tracing::warn!(seq, %error, "skipping an undecodable outbox record; it is dropped by the next ack covering it")
                            }
                        }
                    }
                }
            }
        }
        if let Some((seq, segment, offset)) = stopped_at {
            self.lock().cursor = Some(Cursor {
                seq,
                segment,
                offset,
            });
        }
        Ok(out)
    }

    /// Drops every result with `seq <= up_to` and returns how many were pending (damaged ones
    /// included); acknowledging the same range again drops nothing. Segments left with no
    /// pending result are deleted.
    ///
    /// An acknowledgement above the highest sequence ever assigned (the coordinator remembers
    /// more than this node does, e.g. after its disk was replaced) raises the counter durably, so
    /// new results are not discarded by the coordinator as already committed.
    pub async fn ack(&self, up_to: u64) -> Result<usize, OutboxError> {
        let (removed, raised) = {
            let mut state = self.lock();
            if up_to <= state.acked {
                return Ok(0);
            }
            let removed = up_to.min(state.last_seq).saturating_sub(state.acked) as usize;
            let raised = up_to > state.last_seq;
            if raised {
                state.last_seq = up_to;
                self.ensure_active(&mut state, false)?;
            }
            state.acked = up_to;
            if state.acked >= state.last_seq {
                state.ages.clear();
            } else {
                state.ages.acked(up_to);
            }
            self.drop_acked_segments(&mut state);
            let mut mark = [0u8; 12];
            mark[..8].copy_from_slice(&up_to.to_le_bytes());
            mark[8..].copy_from_slice(&crc32fast::hash(&up_to.to_le_bytes()).to_le_bytes());
            if let Err(error) = state.ack_file.write_all_at(&mark, 0) {
                // Only costs resending results the coordinator already has.
                tracing::warn!(%error, "cannot record an outbox acknowledgement");
            }
            (removed, raised)
        };
        if raised {
            self.make_durable(up_to).await?;
        }
        Ok(removed)
    }

    /// Returns once sequence `target` (and everything before it) is on disk, syncing unless a
    /// sync that started after it was written already finished.
    async fn make_durable(&self, target: u64) -> Result<(), OutboxError> {
        let _syncing = self.sync_lock.lock().await;
        if self.durable_seq.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        // What this sync covers: every sequence assigned so far, since records are written
        // before `last_seq` moves past them.
        let (files, dir_dirty, covers) = {
            let mut state = self.lock();
            (
                std::mem::take(&mut state.dirty),
                std::mem::take(&mut state.dir_dirty),
                state.last_seq,
            )
        };
        let dir = self.dir.clone();
        let to_sync = files.clone();
        let synced = tokio::task::spawn_blocking(move || -> Result<(), OutboxError> {
            for file in &to_sync {
                file.sync_data().map_err(io_err("sync", &dir))?;
            }
            if dir_dirty {
                sync_dir(&dir)?;
            }
            Ok(())
        })
        .await
        .unwrap_or_else(|e| {
            Err(OutboxError::Io {
                op: "sync",
                path: self.dir.clone(),
                source: io::Error::other(format!("sync task failed: {e}")),
            })
        });
        if let Err(e) = synced {
            // Whatever was not synced must be by the next attempt.
            let mut state = self.lock();
            for file in files {
                if !state.dirty.iter().any(|f| Arc::ptr_eq(f, &file)) {
                    state.dirty.push(file);
                }
            }
            state.dir_dirty |= dir_dirty;
            return Err(e);
        }
        self.durable_seq.fetch_max(covers, Ordering::AcqRel);
        Ok(())
    }

    /// Number of results waiting for acknowledgement (damaged ones included).
    pub fn len(&self) -> usize {
        let state = self.lock();
        state.last_seq.saturating_sub(state.acked) as usize
    }

    /// Whether nothing waits for acknowledgement.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sequence of the oldest unacknowledged result: how far the coordinator is behind.
    pub fn oldest_seq(&self) -> Option<u64> {
        let state = self.lock();
        (state.last_seq > state.acked).then(|| state.acked + 1)
    }

    /// When the oldest unacknowledged result was measured (its `checked_at_ms`, on this node's
    /// clock), from an in-memory index ([`age`]): possibly up to a second or so earlier than
    /// the result itself, never later. `None` when nothing is pending, or when the oldest
    /// pending results were stored before this process started and could not be read back
    /// at open.
    pub fn oldest_pending_ms(&self) -> Option<i64> {
        let state = self.lock();
        if state.last_seq <= state.acked {
            return None;
        }
        state.ages.oldest_ms(state.acked + 1)
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

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update of the state completes before the guard drops (no await inside), so a
        // panic elsewhere does not leave it half-written.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Reads a segment from the start: the sequence after its last whole record, and the bytes of
/// whole records (damaged ones in the middle included, since they are skipped on read).
fn recover(file: &File, path: &Path, first: u64, len: u64) -> Result<(u64, u64), OutboxError> {
    let mut reader = Reader::new(file, 0, len, first);
    loop {
        match reader.next_item().map_err(io_err("read", path))? {
            Item::End => return Ok((reader.next_seq(), reader.offset())),
            Item::Damaged { seq } => {
                tracing::warn!(seq, file = ?path, "damaged outbox record; it will be skipped")
            }
            Item::Record { .. } => {}
        }
    }
}

/// The oldest pending record at open, read back from its segment: its sequence and when it was
/// measured. Seeds the age index with what an earlier process left; `None` if nothing is
/// pending or nothing pending can be read (then the age is unknown until it is acknowledged).
fn first_pending(state: &State, dir: &Path) -> Option<(u64, i64)> {
    let start = state.acked.checked_add(1)?;
    if start > state.last_seq {
        return None;
    }
    for (first, seg) in state.segments.range(..=state.last_seq) {
        if seg.next <= start {
            continue;
        }
        let mut reader = Reader::new(&seg.file, 0, seg.size, *first);
        loop {
            match reader.next_item() {
                Ok(Item::Record { seq, payload }) if seq >= start => {
                    if let Ok(r) = postcard::from_bytes::<CheckResult>(&payload) {
                        return Some((start, r.checked_at_ms));
                    }
                }
                Ok(Item::Record { .. }) | Ok(Item::Damaged { .. }) => {}
                Ok(Item::End) => break,
                Err(error) => {
                    tracing::debug!(dir = ?dir, %error, "cannot read the oldest pending result's time");
                    return None;
                }
            }
        }
    }
    None
}

/// Makes the directory's entries (new segment files) durable.
fn sync_dir(dir: &Path) -> Result<(), OutboxError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync", dir))
}

#[cfg(test)]
mod tests {
    use std::{path::Path, path::PathBuf, sync::Arc, time::Duration};

    use netpulse_protocol::result::{CheckStatus, ErrorClass, ProbeError};

    use super::*;

    fn open(path: &Path) -> Outbox {
        Outbox::open(path).unwrap()
    }

    /// The one segment file of a fresh outbox.
    fn only_segment(dir: &Path) -> PathBuf {
        let segs: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "seg"))
            .collect();
        assert_eq!(segs.len(), 1, "{segs:?}");
        segs[0].clone()
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
        let outbox = open(dir.path());
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
            let outbox = open(dir.path());
            for i in 0..10 {
                outbox.push(result(&format!("m{i}"))).await.unwrap();
            }
            outbox.ack(4).await.unwrap();
        }
        let outbox = open(dir.path());
        assert_eq!(outbox.len(), 6);
        assert_eq!(outbox.oldest_seq(), Some(5));
        let pending = outbox.peek(None, 100, usize::MAX).unwrap();
        assert_eq!(seqs(&pending), (5..=10).collect::<Vec<_>>());
        assert_eq!(pending[0].monitor_id, "m4");
        assert_eq!(outbox.push(result("next")).await.unwrap(), 11);
    }

    /// The oldest pending result's time follows pushes and acknowledgements, and is read back
    /// from disk when the outbox opens with results pending.
    #[tokio::test]
    async fn oldest_pending_time_follows_acks_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let at = |ms: i64| CheckResult {
            checked_at_ms: ms,
            ..result("m")
        };
        {
            let outbox = open(dir.path());
            assert_eq!(outbox.oldest_pending_ms(), None);
            outbox
                .push_many(vec![at(100_000), at(100_010)])
                .await
                .unwrap();
            outbox
                .push_many(vec![at(200_000), at(200_500)])
                .await
                .unwrap();
            assert_eq!(outbox.oldest_pending_ms(), Some(100_000));
            outbox.ack(2).await.unwrap();
            assert_eq!(outbox.oldest_pending_ms(), Some(200_000));
            outbox.ack(4).await.unwrap();
            assert_eq!(outbox.oldest_pending_ms(), None);
            outbox
                .push_many(vec![at(300_000), at(400_000)])
                .await
                .unwrap();
            outbox.ack(5).await.unwrap();
        }
        let outbox = open(dir.path());
        assert_eq!(
            outbox.oldest_pending_ms(),
            Some(400_000),
            "read back at open"
        );
        outbox.ack(6).await.unwrap();
        assert_eq!(outbox.oldest_pending_ms(), None);
    }

    #[tokio::test]
    async fn seq_keeps_increasing_after_full_ack_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut highest = 0;
        for round in 0..3 {
            let outbox = open(dir.path());
            assert!(outbox.is_empty(), "round {round}");
            let got = outbox.push_many(vec![result("x"); 3]).await.unwrap();
            assert!(got[0] > highest, "round {round}: {got:?} after {highest}");
            highest = got[2];
            assert_eq!(outbox.ack(highest).await.unwrap(), 3);
        }
        assert_eq!(highest, 9);
    }

    /// Without the acknowledgement mark (a power loss before it reached the disk), results
    /// acknowledged earlier are pending again, and numbering still continues.
    #[tokio::test]
    async fn lost_ack_mark_offers_results_again_and_numbering_continues() {
        let dir = tempfile::tempdir().unwrap();
        {
            let outbox = open(dir.path());
            outbox.push_many(vec![result("x"); 7]).await.unwrap();
            outbox.ack(5).await.unwrap();
        }
        std::fs::remove_file(dir.path().join(ACK_FILE)).unwrap();
        let outbox = open(dir.path());
        assert_eq!(outbox.len(), 7);
        assert_eq!(outbox.oldest_seq(), Some(1));
        // What the session does first: acknowledge the coordinator's committed sequence.
        assert_eq!(outbox.ack(5).await.unwrap(), 5);
        assert_eq!(
            seqs(&outbox.peek(None, 10, usize::MAX).unwrap()),
            vec![6, 7]
        );
        assert_eq!(outbox.push(result("y")).await.unwrap(), 8);
    }

    #[tokio::test]
    async fn damaged_ack_mark_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        {
            let outbox = open(dir.path());
            outbox.push_many(vec![result("x"); 3]).await.unwrap();
            outbox.ack(2).await.unwrap();
        }
        std::fs::write(dir.path().join(ACK_FILE), b"garbage-mark").unwrap();
        let outbox = open(dir.path());
        assert_eq!(outbox.len(), 3);
        assert_eq!(outbox.push(result("y")).await.unwrap(), 4);
    }

    /// A crash in the middle of a write (never reported durable) leaves part of a record; it is
    /// cut off and the next push continues after the last whole record.
    #[tokio::test]
    async fn torn_tail_is_cut_off_on_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let outbox = open(dir.path());
            outbox
                .push_many(vec![result("a"), result("b")])
                .await
                .unwrap();
        }
        let seg = only_segment(dir.path());
        let whole = std::fs::metadata(&seg).unwrap().len();
        {
            use std::io::Write;
            let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
            // A header announcing seq 3 and 100 bytes, followed by only a few of them.
            let mut torn = Vec::new();
            torn.extend_from_slice(&100u32.to_le_bytes());
            torn.extend_from_slice(&0u32.to_le_bytes());
            torn.extend_from_slice(&3u64.to_le_bytes());
            torn.extend_from_slice(b"partial");
            f.write_all(&torn).unwrap();
        }
        let outbox = open(dir.path());
        assert_eq!(std::fs::metadata(&seg).unwrap().len(), whole);
        assert_eq!(outbox.len(), 2);
        assert_eq!(outbox.push(result("c")).await.unwrap(), 3);
        drop(outbox);
        let outbox = open(dir.path());
        assert_eq!(
            ids(&outbox.peek(None, 10, usize::MAX).unwrap()),
            vec!["a", "b", "c"]
        );
    }

    /// Small segments: the log rolls over, reads cross segment borders, acknowledged segments
    /// are deleted (never the newest), and all of it survives a reopen.
    #[tokio::test]
    async fn segments_roll_over_and_acknowledged_ones_are_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let seg_count = || {
            std::fs::read_dir(dir.path())
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .path()
                        .extension()
                        .is_some_and(|x| x == "seg")
                })
                .count()
        };
        {
            let outbox = Outbox::open_with_segment_bytes(dir.path(), 200).unwrap();
            for i in 0..30 {
                outbox.push(result(&format!("m{i}"))).await.unwrap();
            }
            assert!(seg_count() > 3, "{} segments", seg_count());
            let all = outbox.peek(None, 100, usize::MAX).unwrap();
            assert_eq!(seqs(&all), (1..=30).collect::<Vec<_>>());
            // Batches as the session reads them: resume after each acknowledgement.
            let mut got = Vec::new();
            loop {
                let batch = outbox.peek(None, 4, usize::MAX).unwrap();
                let Some(last) = batch.last().map(|r| r.seq) else {
                    break;
                };
                got.extend(ids(&batch).into_iter().map(str::to_owned));
                if last == 20 {
                    break;
                }
                outbox.ack(last).await.unwrap();
            }
            assert_eq!(got.len(), 20);
            assert_eq!(got[19], "m19");
            outbox.ack(20).await.unwrap();
            assert_eq!(outbox.len(), 10);
        }
        let before = seg_count();
        let outbox = Outbox::open_with_segment_bytes(dir.path(), 200).unwrap();
        assert_eq!(outbox.len(), 10);
        assert_eq!(
            seqs(&outbox.peek(None, 100, usize::MAX).unwrap()),
            (21..=30).collect::<Vec<_>>()
        );
        outbox.ack(30).await.unwrap();
        assert_eq!(
            seg_count(),
            1,
            "only the newest segment stays (had {before})"
        );
        drop(outbox);
        let outbox = Outbox::open_with_segment_bytes(dir.path(), 200).unwrap();
        assert!(outbox.is_empty());
        assert_eq!(outbox.push(result("next")).await.unwrap(), 31);
    }

    #[tokio::test]
    async fn ack_is_idempotent_and_partial() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = open(dir.path());
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
            let outbox = open(dir.path());
            outbox.push(result("x")).await.unwrap();
            // The coordinator already committed up to 500 for this node (lost local state).
            assert_eq!(outbox.ack(500).await.unwrap(), 1);
            assert_eq!(outbox.push(result("y")).await.unwrap(), 501);
            outbox.ack(501).await.unwrap();
        }
        let outbox = open(dir.path());
        assert_eq!(outbox.push(result("z")).await.unwrap(), 502);
    }

    #[tokio::test]
    async fn peek_respects_max_and_max_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = open(dir.path());
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
        let outbox = open(dir.path());
        outbox
            .push_many(vec![result("a"), result("b"), result("c")])
            .await
            .unwrap();
        // Seq 2 is damaged on disk: one payload byte flipped.
        let seg = only_segment(dir.path());
        let mut bytes = std::fs::read(&seg).unwrap();
        let first_len = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
        bytes[2 * segment::HEADER + first_len] ^= 0xff;
        std::fs::write(&seg, &bytes).unwrap();
        // Read again from disk, not from where the last read stopped.
        drop(outbox);
        let outbox = open(dir.path());

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
        let outbox = open(dir.path());
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
        let outbox = Arc::new(open(dir.path()));
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
    /// once its push returns, with syncs grouped under concurrency.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_pushes_get_unique_increasing_seqs() {
        const TASKS: u64 = 16;
        const PER_TASK: u64 = 20;
        let dir = tempfile::tempdir().unwrap();
        let outbox = Arc::new(open(dir.path()));
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
                        // Acks racing with pushes.
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
        .expect("pushes stalled");
        let mut all = all;
        all.sort_unstable();
        assert_eq!(all, (1..=TASKS * PER_TASK).collect::<Vec<_>>());
        assert_eq!(outbox.len() as u64, TASKS * PER_TASK);
        assert_eq!(seqs(&outbox.peek(None, 1000, usize::MAX).unwrap()), all);
    }
}
