//! One-time moves of an edge node's on-disk state written by older versions.
//!
//! Until issue 4 the result outbox was a pair of trees in the node's sled database
//! (`outbox.results`: big-endian sequence → postcard result; `outbox.meta`: the sequence
//! high-water mark). [`sled_outbox`] moves what a node upgraded with undelivered results still
//! holds there into the segment log, so an upgrade loses nothing.

use netpulse_protocol::result::CheckResult;

use crate::outbox::{Outbox, OutboxError};

const RESULTS_TREE: &str = "outbox.results";
const META_TREE: &str = "outbox.meta";
const SEQ_HWM_KEY: &[u8] = b"seq_hwm";

/// Why the old outbox could not be moved; the node does not start, so nothing is dropped.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// Reading or dropping the old trees failed.
    #[error("old sled outbox: {0}")]
    Sled(#[from] sled::Error),
    /// Writing to the new outbox failed.
    #[error("moving results to the new outbox: {0}")]
    Outbox(#[from] OutboxError),
}

/// Moves the results of the old sled outbox, if any, into `outbox` and drops the old trees.
/// Returns how many results were moved.
///
/// The results get new sequence numbers above the old high-water mark (the coordinator has
/// committed at most that much from this node, so none of them is mistaken for a duplicate). A
/// result that had reached the coordinator without its acknowledgement reaching the node is
/// therefore stored twice; that window is one batch at most.
pub async fn sled_outbox(db: &sled::Db, outbox: &Outbox) -> Result<usize, MigrateError> {
    let names = db.tree_names();
    let present = |name: &str| names.iter().any(|n| n.as_ref() == name.as_bytes());
    if !present(RESULTS_TREE) && !present(META_TREE) {
        return Ok(0);
    }
    let results = db.open_tree(RESULTS_TREE)?;
    let meta = db.open_tree(META_TREE)?;
    let mut hwm = meta
        .get(SEQ_HWM_KEY)?
        .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
        .map_or(0, u64::from_be_bytes);
    let mut moved: Vec<CheckResult> = Vec::new();
    for item in results.iter() {
        let (key, value) = item?;
        if let Ok(seq) = <[u8; 8]>::try_from(key.as_ref()) {
            hwm = hwm.max(u64::from_be_bytes(seq));
        }
        match postcard::from_bytes::<CheckResult>(&value) {
            Ok(result) => moved.push(result),
            Err(error) => {
                tracing::warn!(%error, "dropping an undecodable result of the old outbox")
            }
        }
    }
    // Numbering continues above everything the old outbox handed out. Raising the counter
    // acknowledges everything below it, so only when nothing is pending in the new outbox (a
    // migration that stopped before dropping the old trees left results there; they are above
    // the mark already).
    if outbox.is_empty() {
        outbox.ack(hwm).await?;
    }
    outbox.push_slice(&mut moved).await?;
    // Only once the results are durable in the new outbox.
    db.drop_tree(RESULTS_TREE)?;
    db.drop_tree(META_TREE)?;
    db.flush()?;
    if !moved.is_empty() {
        tracing::info!(
            results = moved.len(),
            "moved undelivered results from the old sled outbox"
        );
    }
    Ok(moved.len())
}

#[cfg(test)]
mod tests {
    use netpulse_protocol::result::CheckStatus;

    use super::*;

    fn result(monitor: &str, seq: u64) -> CheckResult {
        CheckResult {
            seq,
            monitor_id: monitor.into(),
            revision: 1,
            checked_at_ms: 1_790_000_000_000,
            status: CheckStatus::Up,
            duration_us: 10,
            error: None,
            metrics: vec![("connect_ms".into(), 1.5)],
            detail: None,
            facts: Vec::new(),
            impaired: false,
        }
    }

    #[tokio::test]
    async fn old_results_move_above_the_old_high_water_mark_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new()
            .path(dir.path().join("db"))
            .open()
            .unwrap();
        let old = db.open_tree(RESULTS_TREE).unwrap();
        for (seq, id) in [(41u64, "a"), (42, "b")] {
            old.insert(
                seq.to_be_bytes(),
                postcard::to_allocvec(&result(id, seq)).unwrap(),
            )
            .unwrap();
        }
        old.insert(7u64.to_be_bytes(), &b"garbage"[..]).unwrap();
        db.open_tree(META_TREE)
            .unwrap()
            .insert(SEQ_HWM_KEY, &50u64.to_be_bytes())
            .unwrap();

        let outbox = Outbox::open(&dir.path().join("outbox")).unwrap();
        assert_eq!(sled_outbox(&db, &outbox).await.unwrap(), 2);
        let got = outbox.peek(None, 10, usize::MAX).unwrap();
        let seen: Vec<(u64, &str)> = got.iter().map(|r| (r.seq, r.monitor_id.as_str())).collect();
        assert_eq!(seen, vec![(51, "a"), (52, "b")]);
        assert!(!db
            .tree_names()
            .iter()
            .any(|n| n.as_ref() == RESULTS_TREE.as_bytes()));

        // A second start finds nothing to move.
        assert_eq!(sled_outbox(&db, &outbox).await.unwrap(), 0);
        assert_eq!(outbox.len(), 2);
    }

    #[tokio::test]
    async fn a_node_without_an_old_outbox_is_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new()
            .path(dir.path().join("db"))
            .open()
            .unwrap();
        let outbox = Outbox::open(&dir.path().join("outbox")).unwrap();
        assert_eq!(sled_outbox(&db, &outbox).await.unwrap(), 0);
        assert_eq!(outbox.push(result("x", 0)).await.unwrap(), 1);
    }
}
