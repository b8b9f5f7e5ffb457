//! "One leader per term", watched for the whole run: a task asks every coordinator for
//! `GET /v1/cluster` several times a second and records each (term, leader) it is told. A
//! follower answers with the leader's view when it can reach it and with its own otherwise (a
//! cut-off member reports what it believes), so both sides of a partition are observed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::http::Http;

/// Who reported a (term, leader) pair first.
#[derive(Debug, Clone)]
pub struct Sighting {
    pub via: usize,
    pub round: usize,
    pub count: u64,
}

#[derive(Default)]
struct Seen {
    /// term -> leader id -> first sighting and how often it was reported.
    terms: BTreeMap<u64, BTreeMap<u64, Sighting>>,
    observations: u64,
}

/// The running observer; stops when dropped.
pub struct LeaderWatch {
    seen: Arc<Mutex<Seen>>,
    round: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl LeaderWatch {
    pub fn start(coordinators: Vec<SocketAddr>, key: &str) -> LeaderWatch {
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let round = Arc::new(AtomicUsize::new(0));
        let http = Http::new(key, Duration::from_millis(800));
        let (s, r) = (seen.clone(), round.clone());
        let task = tokio::spawn(async move {
            loop {
                for (via, addr) in coordinators.iter().enumerate() {
                    let Some(d) = http.data(*addr, "/v1/cluster").await else {
                        continue;
                    };
                    let (Some(term), Some(leader)) = (d["term"].as_u64(), d["leader"].as_u64())
                    else {
                        continue;
                    };
                    let mut seen = s.lock().expect("lock");
                    seen.observations += 1;
                    seen.terms
                        .entry(term)
                        .or_default()
                        .entry(leader)
                        .or_insert(Sighting {
                            via,
                            round: r.load(Ordering::Relaxed),
                            count: 0,
                        })
                        .count += 1;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        LeaderWatch { seen, round, task }
    }

    /// Tags later sightings with this round.
    pub fn set_round(&self, round: usize) {
        self.round.store(round, Ordering::Relaxed);
    }

    /// Terms that had more than one leader, with the evidence.
    pub fn violations(&self) -> Vec<(u64, BTreeMap<u64, Sighting>)> {
        let seen = self.seen.lock().expect("lock");
        seen.terms
            .iter()
            .filter(|(_, leaders)| leaders.len() > 1)
            .map(|(t, l)| (*t, l.clone()))
            .collect()
    }

    /// (observations, distinct terms seen).
    pub fn counts(&self) -> (u64, usize) {
        let seen = self.seen.lock().expect("lock");
        (seen.observations, seen.terms.len())
    }
}

impl Drop for LeaderWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}
