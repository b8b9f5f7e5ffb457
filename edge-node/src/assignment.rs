//! The node's last assignment on disk, so a restarted node measures before it reaches a
//! coordinator.
//!
//! One file, `DATA_DIR/assignment`, holds the whole set: a header (magic, format version,
//! length and CRC-32 of the body) and the checks as one postcard sequence. It is replaced
//! atomically (written to a temporary file, synced, renamed over the old one, directory synced),
//! so a crash leaves the old set or the new one, never a mix.
//!
//! Until issue 10 the set was a sled tree with one record per check. At 100,000 checks that tree
//! cost about 3.6 KB of resident memory per check (sled keeps its pages and their bookkeeping in
//! memory, whatever the configured cache) while the checks themselves need well under 1 KB;
//! and the node only ever reads the set back whole, at start. [`load_sled`] reads a set saved
//! that way once, so an upgraded node keeps its checks.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use netpulse_protocol::check::CheckSpec;
use serde::ser::{Serialize, Serializer};

/// File name inside the data directory.
const FILE: &str = "assignment";
/// Name of the sled tree older versions kept the assignment in.
pub const SLED_TREE: &str = "assignments";
const MAGIC: &[u8; 4] = b"NPAS";
const VERSION: u32 = 1;
/// Magic, version, body length, body CRC-32.
const HEADER: usize = 4 + 4 + 8 + 4;

/// Why the saved assignment could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum AssignmentFileError {
    /// A file operation failed.
    #[error("saved assignment {op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file is not a saved assignment of a version this node reads, or is damaged.
    #[error("saved assignment {}: {why}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// The checks could not be encoded.
    #[error("cannot encode the assignment: {0}")]
    Encode(#[from] postcard::Error),
}

/// The saved-assignment file of one data directory.
#[derive(Debug, Clone)]
pub struct AssignmentFile {
    path: PathBuf,
}

/// Serialises shared specs as a plain sequence, which decodes as `Vec<CheckSpec>`.
struct Specs<'a>(&'a [Arc<CheckSpec>]);

impl Serialize for Specs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|c| &**c))
    }
}

impl AssignmentFile {
    /// The file in `data_dir` (not touched until loaded or saved).
    pub fn new(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join(FILE),
        }
    }

    /// Whether a set has been saved.
    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    /// The saved set; empty when none was saved.
    pub fn load(&self) -> Result<Vec<CheckSpec>, AssignmentFileError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(AssignmentFileError::Io {
                    op: "read",
                    path: self.path.clone(),
                    source,
                })
            }
        };
        let damaged = |why: String| AssignmentFileError::Damaged {
            path: self.path.clone(),
            why,
        };
        if bytes.len() < HEADER || &bytes[..4] != MAGIC {
            return Err(damaged("not a saved assignment".into()));
        }
        let word = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let version = word(4);
        if version != VERSION {
            return Err(damaged(format!(
                "format version {version}, expected {VERSION}"
            )));
        }
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[8..16]);
        let len = u64::from_le_bytes(len);
        let body = &bytes[HEADER..];
        if body.len() as u64 != len {
            return Err(damaged(format!(
                "{} body bytes, header says {len}",
                body.len()
            )));
        }
        if crc32fast::hash(body) != word(16) {
            return Err(damaged("checksum mismatch".into()));
        }
        postcard::from_bytes(body).map_err(|e| damaged(format!("undecodable: {e}")))
    }

    /// Replaces the saved set with `checks`, atomically and durably.
    pub fn save(&self, checks: &[Arc<CheckSpec>]) -> Result<(), AssignmentFileError> {
        let body = postcard::to_allocvec(&Specs(checks))?;
        let mut out = Vec::with_capacity(HEADER + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&body);
        let tmp = self.path.with_extension("tmp");
        let io = |op, path: &Path| {
            let path = path.to_owned();
            move |source| AssignmentFileError::Io { op, path, source }
        };
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(io("create", &tmp))?;
        f.write_all(&out).map_err(io("write", &tmp))?;
        f.sync_data().map_err(io("sync", &tmp))?;
        drop(f);
        fs::rename(&tmp, &self.path).map_err(io("rename", &self.path))?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io("sync directory", dir))?;
        }
        Ok(())
    }
}

/// The set an older version saved in its sled tree (one postcard record per check);
/// undecodable records are logged and skipped.
pub fn load_sled(db: &sled::Db) -> Result<Vec<CheckSpec>, sled::Error> {
    if !db
        .tree_names()
        .iter()
        .any(|n| n.as_ref() == SLED_TREE.as_bytes())
    {
        return Ok(Vec::new());
    }
    let mut checks = Vec::new();
    for value in db.open_tree(SLED_TREE)?.iter().values() {
        match postcard::from_bytes(&value?) {
            Ok(c) => checks.push(c),
            Err(e) => tracing::warn!(error = %e, "skipping undecodable saved check"),
        }
    }
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use netpulse_protocol::check::{ProbeSpec, TcpSpec};

    use super::*;

    fn check(i: usize) -> CheckSpec {
        CheckSpec {
            monitor_id: format!("mon_{i}"),
            revision: i as u64,
            interval_ms: 30_000,
            timeout_ms: 5_000,
            probe: ProbeSpec::Tcp(TcpSpec {
                host: "127.0.0.1".into(),
                port: 80,
                ..Default::default()
            }),
        }
    }

    #[test]
    fn nothing_saved_loads_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = AssignmentFile::new(dir.path());
        assert!(!f.exists());
        assert!(f.load().expect("load").is_empty());
    }

    #[test]
    fn save_replaces_the_whole_set() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = AssignmentFile::new(dir.path());
        let first: Vec<Arc<CheckSpec>> = (0..1000).map(|i| Arc::new(check(i))).collect();
        f.save(&first).expect("save");
        let loaded = f.load().expect("load");
        assert_eq!(loaded.len(), 1000);
        assert!(loaded.iter().zip(&first).all(|(a, b)| a == &**b));
        f.save(&first[..3]).expect("save smaller");
        assert_eq!(f.load().expect("load").len(), 3);
        f.save(&[]).expect("save empty");
        assert!(f.exists());
        assert!(f.load().expect("load").is_empty());
        assert!(!dir.path().join("assignment.tmp").exists());
    }

    #[test]
    fn damage_is_an_error_not_an_empty_set() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = AssignmentFile::new(dir.path());
        f.save(&[Arc::new(check(1)), Arc::new(check(2))])
            .expect("save");
        let path = dir.path().join(FILE);
        let good = fs::read(&path).expect("read");

        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x40;
        fs::write(&path, &flipped).expect("write");
        assert!(matches!(f.load(), Err(AssignmentFileError::Damaged { .. })));

        fs::write(&path, &good[..good.len() - 3]).expect("truncate");
        assert!(matches!(f.load(), Err(AssignmentFileError::Damaged { .. })));

        fs::write(&path, b"NPAS").expect("short");
        assert!(matches!(f.load(), Err(AssignmentFileError::Damaged { .. })));

        let mut newer = good.clone();
        newer[4] = 9;
        fs::write(&path, &newer).expect("version");
        let err = f.load().expect_err("unknown version");
        assert!(err.to_string().contains("format version 9"), "{err}");
    }

    #[test]
    fn a_set_saved_in_sled_by_an_older_version_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = sled::open(dir.path().join("db")).expect("sled");
        assert!(load_sled(&db).expect("no tree").is_empty());
        let tree = db.open_tree(SLED_TREE).expect("tree");
        for i in 0..3 {
            let c = check(i);
            tree.insert(
                c.monitor_id.as_bytes(),
                postcard::to_allocvec(&c).expect("encode"),
            )
            .expect("insert");
        }
        tree.insert(b"junk", &b"\xff\xff\xff"[..]).expect("insert");
        let mut got = load_sled(&db).expect("load");
        got.sort_by(|a, b| a.monitor_id.cmp(&b.monitor_id));
        assert_eq!(got, vec![check(0), check(1), check(2)]);
    }
}
