//! The fault schedule: what each round does, drawn from the seed alone, so a seed replays the
//! same schedule (the leader is named as a role and resolved when the fault is injected).
//!
//! The schedule keeps the run inside the failure model the invariants are promised for: at most
//! one coordinator of three is affected at a time (a majority always remains), and at most one
//! region has all its edge nodes down, stopped or cut off at a time (a quorum of regions always
//! remains). Within that, faults combine freely.

use std::fmt;
use std::time::Duration;

use super::mesh::{NODES_PER_REGION, REGIONS};
use super::net::Cut;
use super::rng::Rng;

/// A coordinator named by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Leader,
    /// The `n`-th (mod 2) coordinator that is not the leader.
    Follower(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL now, restart at heal.
    CoordinatorKill(Who),
    /// SIGSTOP now, SIGCONT at heal.
    CoordinatorStop(Who),
    /// Drop its UDP (Raft and edge sessions) now, heal later.
    CoordinatorPartition(Who),
    /// SIGTERM and start again at once.
    CoordinatorRestart(Who),
    /// SIGKILL these edge nodes now, restart at heal.
    EdgeKill(Vec<usize>),
    /// SIGSTOP these edge nodes now, SIGCONT at heal.
    EdgeStop(Vec<usize>),
    /// SIGTERM one edge node and start it again at once.
    EdgeRestart(usize),
    /// Cut a region's namespace off now, heal later.
    RegionPartition(usize, Cut),
}

impl Fault {
    /// Short name for counting.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::CoordinatorKill(_) => "coordinator SIGKILL+restart",
            Fault::CoordinatorStop(_) => "coordinator SIGSTOP/SIGCONT",
            Fault::CoordinatorPartition(_) => "coordinator partition (nftables)",
            Fault::CoordinatorRestart(_) => "coordinator clean restart",
            Fault::EdgeKill(_) => "edge SIGKILL+restart",
            Fault::EdgeStop(_) => "edge SIGSTOP/SIGCONT",
            Fault::EdgeRestart(_) => "edge clean restart",
            Fault::RegionPartition(_, Cut::Coordinators) => {
                "region partition from coordinators (nftables)"
            }
            Fault::RegionPartition(_, Cut::Uplink) => "region uplink loss (nftables)",
        }
    }

    pub fn touches_coordinator(&self) -> bool {
        matches!(
            self,
            Fault::CoordinatorKill(_)
                | Fault::CoordinatorStop(_)
                | Fault::CoordinatorPartition(_)
                | Fault::CoordinatorRestart(_)
        )
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let edges = |v: &[usize]| {
            v.iter()
                .map(|e| edge_name(*e))
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            Fault::CoordinatorKill(w) => write!(f, "kill -9 coordinator {w:?}"),
            Fault::CoordinatorStop(w) => write!(f, "SIGSTOP coordinator {w:?}"),
            Fault::CoordinatorPartition(w) => write!(f, "partition coordinator {w:?}"),
            Fault::CoordinatorRestart(w) => write!(f, "restart coordinator {w:?}"),
            Fault::EdgeKill(v) => write!(f, "kill -9 edge {}", edges(v)),
            Fault::EdgeStop(v) => write!(f, "SIGSTOP edge {}", edges(v)),
            Fault::EdgeRestart(e) => write!(f, "restart edge {}", edge_name(*e)),
            Fault::RegionPartition(r, cut) => write!(f, "cut {} off ({cut:?})", REGIONS[*r]),
        }
    }
}

pub fn edge_name(e: usize) -> String {
    format!("{}/{}", REGIONS[e / NODES_PER_REGION], e % NODES_PER_REGION)
}

/// One round of the schedule.
#[derive(Debug, Clone)]
pub struct Round {
    pub faults: Vec<Fault>,
    /// How long the faults stay before healing.
    pub hold: Duration,
    /// The scheduled target fails from the injection until its alert was delivered.
    pub outage: bool,
}

/// Draws round `index`. Outages fall on odd rounds, so even a short run has them and they are
/// far enough apart for the monitor to recover in between.
pub fn plan(rng: &mut Rng, index: usize) -> Round {
    let want = 1 + rng.below(2);
    let edges_total = REGIONS.len() * NODES_PER_REGION;
    let mut faults: Vec<Fault> = Vec::new();
    let mut coordinator_used = false;
    let mut affected = vec![false; edges_total];
    let mut region_down: Option<usize> = None;
    let mut region_cut = vec![false; REGIONS.len()];
    let mut attempts = 0;
    while faults.len() < want && attempts < 50 {
        attempts += 1;
        let who = if rng.chance(1, 2) {
            Who::Leader
        } else {
            Who::Follower(rng.below(2))
        };
        let kind = rng.below(8);
        if kind < 4 {
            if coordinator_used {
                continue;
            }
            coordinator_used = true;
            faults.push(match kind {
                0 => Fault::CoordinatorKill(who),
                1 => Fault::CoordinatorStop(who),
                2 => Fault::CoordinatorPartition(who),
                _ => Fault::CoordinatorRestart(who),
            });
            continue;
        }
        let r = rng.below(REGIONS.len());
        let nodes: Vec<usize> = (0..NODES_PER_REGION)
            .map(|k| r * NODES_PER_REGION + k)
            .collect();
        if kind == 7 {
            // A region cut: no other fault on its nodes, and no other region down.
            if region_down.is_some() || nodes.iter().any(|e| affected[*e]) {
                continue;
            }
            region_down = Some(r);
            region_cut[r] = true;
            nodes.iter().for_each(|e| affected[*e] = true);
            let cut = if rng.chance(1, 2) {
                Cut::Coordinators
            } else {
                Cut::Uplink
            };
            faults.push(Fault::RegionPartition(r, cut));
            continue;
        }
        let both = kind != 6 && rng.chance(1, 3);
        let chosen: Vec<usize> = if both {
            nodes.clone()
        } else {
            vec![nodes[rng.below(NODES_PER_REGION)]]
        };
        if region_cut[r] || chosen.iter().any(|e| affected[*e]) {
            continue;
        }
        let whole_region = nodes.iter().all(|e| affected[*e] || chosen.contains(e));
        if whole_region {
            if region_down.is_some_and(|d| d != r) {
                continue;
            }
            region_down = Some(r);
        }
        chosen.iter().for_each(|e| affected[*e] = true);
        faults.push(match kind {
            4 => Fault::EdgeKill(chosen),
            5 => Fault::EdgeStop(chosen),
            _ => Fault::EdgeRestart(chosen[0]),
        });
    }
    Round {
        faults,
        hold: Duration::from_secs(rng.between(3, 12)),
        outage: index % 2 == 1,
    }
}

#[test]
fn schedules_stay_inside_the_failure_model() {
    let mut rng = Rng::new(1);
    for index in 0..2000 {
        let round = plan(&mut rng, index);
        assert!(!round.faults.is_empty());
        let coordinators = round
            .faults
            .iter()
            .filter(|f| f.touches_coordinator())
            .count();
        assert!(coordinators <= 1, "{round:?}");
        let mut down = vec![0usize; REGIONS.len()];
        for f in &round.faults {
            match f {
                Fault::EdgeKill(v) | Fault::EdgeStop(v) => {
                    v.iter().for_each(|e| down[e / NODES_PER_REGION] += 1)
                }
                Fault::EdgeRestart(e) => down[e / NODES_PER_REGION] += 1,
                Fault::RegionPartition(r, _) => down[*r] += NODES_PER_REGION,
                _ => {}
            }
        }
        let whole = down.iter().filter(|d| **d >= NODES_PER_REGION).count();
        assert!(whole <= 1, "{round:?}");
    }
}
