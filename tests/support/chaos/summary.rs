//! What a run did and checked, printed at the end so a long run's report can be quoted.

use std::collections::BTreeMap;
use std::time::Instant;

pub struct Summary {
    pub seed: u64,
    pub profile: String,
    started: Instant,
    pub rounds: usize,
    pub faults: BTreeMap<&'static str, u64>,
    /// Invariant -> how many times it was checked (per coordinator or node where it applies).
    pub checks: BTreeMap<&'static str, u64>,
    /// Figures: monitors, results read, acked sequences verified, ...
    pub figures: BTreeMap<&'static str, u64>,
    pub notes: Vec<String>,
}

impl Summary {
    pub fn new(seed: u64, profile: &str) -> Summary {
        Summary {
            seed,
            profile: profile.to_owned(),
            started: Instant::now(),
            rounds: 0,
            faults: BTreeMap::new(),
            checks: BTreeMap::new(),
            figures: BTreeMap::new(),
            notes: Vec::new(),
        }
    }

    pub fn checked(&mut self, invariant: &'static str, times: u64) {
        *self.checks.entry(invariant).or_default() += times;
    }

    pub fn figure(&mut self, name: &'static str, value: u64) {
        self.figures.insert(name, value);
    }

    pub fn print(&self) {
        println!(
            "=== chaos summary: profile {}, seed {} ===",
            self.profile, self.seed
        );
        println!(
            "rounds: {}, wall time: {:.0} s",
            self.rounds,
            self.started.elapsed().as_secs_f64()
        );
        println!("faults injected:");
        for (k, n) in &self.faults {
            println!("  {n:>4}  {k}");
        }
        println!("invariants checked (all held):");
        for (k, n) in &self.checks {
            println!("  {n:>6}  {k}");
        }
        println!("figures:");
        for (k, n) in &self.figures {
            println!("  {n:>8}  {k}");
        }
        for n in &self.notes {
            println!("note: {n}");
        }
        println!(
            "replay: NETPULSE_CHAOS_SEED={} (same schedule; scripts/chaos.sh --seed {})",
            self.seed, self.seed
        );
    }
}
