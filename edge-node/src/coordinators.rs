//! Which coordinator to dial next: the addresses the node was given, and those the cluster told
//! it about.
//!
//! A node may be started with a single `--coordinator`. Every `netpulse-edge/2` session tells
//! it the cluster's voting members and its leader ([`ClusterView`]); the node remembers them in
//! `<data-dir>/coordinators.json`, so it survives the loss of the coordinator it was given,
//! also across its own restarts. Dialling prefers the leader (its sessions ingest without a
//! forward), then the learned members, then the given addresses. The node does not leave a
//! working session to chase a new leader: after an election every node would reconnect at once,
//! and a follower forwards results just as safely.
//!
//! This is pure bookkeeping: [`Coordinators::learn`] and [`Coordinators::next_addr`] do no I/O;
//! [`Coordinators::load`] and [`Coordinators::save`] touch the one file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use netpulse_protocol::message::ClusterView;
use serde::{Deserialize, Serialize};

/// File name of the remembered view in the data directory.
pub const FILE: &str = "coordinators.json";

/// Longest view a coordinator may send that the node keeps (a cluster has 3 or 5 members).
const MAX_MEMBERS: usize = 16;

/// Why the remembered view could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CoordinatorsError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a view this build wrote.
    #[error("{path}: {source}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: serde_json::Error,
    },
}

/// What is remembered across restarts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Remembered {
    members: Vec<String>,
    leader: Option<String>,
}

/// The addresses a node dials, in the order it tries them.
#[derive(Debug, Clone)]
pub struct Coordinators {
    given: Vec<String>,
    learned: Remembered,
    cursor: usize,
}

impl Coordinators {
    /// Addresses from the command line only.
    pub fn new(given: Vec<String>) -> Self {
        Self {
            given,
            learned: Remembered::default(),
            cursor: 0,
        }
    }

    /// The given addresses plus what `dir/coordinators.json` remembers. A missing file is an
    /// empty memory; an unreadable one is reported (the caller logs it and goes on with the
    /// given addresses).
    pub fn load(dir: &Path, given: Vec<String>) -> (Self, Option<CoordinatorsError>) {
        let mut c = Self::new(given);
        let path = dir.join(FILE);
        match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<Remembered>(&bytes) {
                Ok(r) => c.learned = sanitize(r),
                Err(source) => return (c, Some(CoordinatorsError::Format { path, source })),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return (c, Some(CoordinatorsError::Io { path, source })),
        }
        (c, None)
    }

    /// Writes what was learned to `dir/coordinators.json` (write, sync, rename).
    pub fn save(&self, dir: &Path) -> Result<(), CoordinatorsError> {
        let path = dir.join(FILE);
        let tmp = dir.join(format!("{FILE}.tmp"));
        let io = |source| CoordinatorsError::Io {
            path: path.clone(),
            source,
        };
        let bytes = serde_json::to_vec_pretty(&self.learned).map_err(|source| {
            CoordinatorsError::Format {
                path: path.clone(),
                source,
            }
        })?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            f.write_all(&bytes).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &path).map_err(io)
    }

    /// Takes a view from a coordinator. Returns whether anything changed (then the caller
    /// saves). The next dial starts again from the leader.
    pub fn learn(&mut self, view: &ClusterView) -> bool {
        let next = sanitize(Remembered {
            members: view.members.clone(),
            leader: view.leader.clone(),
        });
        // A coordinator that knows no members (still starting) teaches nothing.
        if next.members.is_empty() || next == self.learned {
            return false;
        }
        self.learned = next;
        self.cursor = 0;
        true
    }

    /// Every address, in dialling order, without repeats.
    pub fn candidates(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let learned = self.learned.leader.iter().chain(&self.learned.members);
        for a in learned.chain(&self.given) {
            if !out.contains(a) {
                out.push(a.clone());
            }
        }
        out
    }

    /// The address to dial next; walks [`Coordinators::candidates`] round-robin. `None` only
    /// when the node knows no address at all.
    pub fn next_addr(&mut self) -> Option<String> {
        let all = self.candidates();
        if all.is_empty() {
            return None;
        }
        let a = all[self.cursor % all.len()].clone();
        self.cursor = self.cursor.wrapping_add(1);
        Some(a)
    }
}

/// Keeps only addresses a node can dial: `host:port` forms, not a wildcard bind address
/// (`0.0.0.0:7400` is how a coordinator may listen, never where it can be reached), at most
/// [`MAX_MEMBERS`] of them.
fn sanitize(r: Remembered) -> Remembered {
    let dialable = |a: &String| {
        a.len() <= 255
            && match a.parse::<SocketAddr>() {
                Ok(sa) => !sa.ip().is_unspecified() && sa.port() != 0,
                Err(_) => a
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p != 0)),
            }
    };
    let mut members: Vec<String> = Vec::new();
    for m in r.members.into_iter().filter(dialable) {
        if !members.contains(&m) && members.len() < MAX_MEMBERS {
            members.push(m);
        }
    }
    Remembered {
        leader: r.leader.filter(dialable),
        members,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(members: &[&str], leader: Option<&str>) -> ClusterView {
        ClusterView {
            members: members.iter().map(|s| s.to_string()).collect(),
            leader: leader.map(str::to_owned),
        }
    }

    #[test]
    fn dials_the_leader_first_then_members_then_what_it_was_given() {
        let mut c = Coordinators::new(vec!["seed:7400".into()]);
        assert_eq!(c.next_addr().as_deref(), Some("seed:7400"));
        assert!(c.learn(&view(&["a:1", "b:1", "c:1"], Some("b:1"))));
        assert_eq!(c.candidates(), ["b:1", "a:1", "c:1", "seed:7400"]);
        let order: Vec<String> = (0..5).filter_map(|_| c.next_addr()).collect();
        assert_eq!(order, ["b:1", "a:1", "c:1", "seed:7400", "b:1"]);
    }

    #[test]
    fn the_same_view_twice_changes_nothing_and_keeps_the_rotation() {
        let mut c = Coordinators::new(vec![]);
        assert!(c.learn(&view(&["a:1", "b:1"], Some("a:1"))));
        c.next_addr();
        assert!(!c.learn(&view(&["a:1", "b:1"], Some("a:1"))));
        assert_eq!(c.next_addr().as_deref(), Some("b:1"));
    }

    #[test]
    fn wildcard_and_malformed_addresses_are_not_learned() {
        let mut c = Coordinators::new(vec!["seed:1".into()]);
        assert!(!c.learn(&view(&["0.0.0.0:7400", "nohost", ":7400", "x:0"], None)));
        assert!(c.learn(&view(&["0.0.0.0:7400", "10.0.0.2:7400"], Some("[::]:7400"))));
        assert_eq!(c.candidates(), ["10.0.0.2:7400", "seed:1"]);
    }

    #[test]
    fn what_was_learned_survives_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = Coordinators::new(vec!["seed:1".into()]);
        c.learn(&view(&["a:1", "b:1"], Some("b:1")));
        c.save(dir.path()).expect("save");
        let (back, err) = Coordinators::load(dir.path(), vec!["seed:1".into()]);
        assert!(err.is_none());
        assert_eq!(back.candidates(), ["b:1", "a:1", "seed:1"]);
    }

    #[test]
    fn a_damaged_file_is_reported_and_the_given_addresses_still_work() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(FILE), b"{not json").expect("write");
        let (mut c, err) = Coordinators::load(dir.path(), vec!["seed:1".into()]);
        assert!(matches!(err, Some(CoordinatorsError::Format { .. })));
        assert_eq!(c.next_addr().as_deref(), Some("seed:1"));
    }
}
