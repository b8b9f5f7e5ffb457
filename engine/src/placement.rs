//! Placement of monitors on edge nodes.
//!
//! Pure and deterministic: given the monitors and the live nodes, every coordinator computes the
//! same placement. Rendezvous (highest-random-weight) hashing picks, per monitor and region, the
//! `per_region` nodes with the highest score for `(monitor, node)`; a node joining or leaving only
//! moves the monitors for which it is (or was) among the winners.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::Monitor;

pub use crate::model::ALL_REGIONS;

/// A node eligible for placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveNode {
    /// Node id.
    pub id: String,
    /// Its region.
    pub region: String,
}

/// Monitor ids per node id.
pub type Placement = BTreeMap<String, BTreeSet<String>>;

/// Places every unpaused monitor on `per_region` live nodes in each region it names.
pub fn place(monitors: &[Monitor], nodes: &[LiveNode], per_region: usize) -> Placement {
    place_each(
        monitors
            .iter()
            .filter(|m| !m.paused)
            .map(|m| (m.id.as_str(), m.regions.as_slice())),
        nodes,
        per_region,
    )
}

/// Places each `(monitor id, regions)` on `per_region` live nodes in each region it names
/// (every region with live nodes for [`ALL_REGIONS`]).
pub fn place_each<'a>(
    monitors: impl IntoIterator<Item = (&'a str, &'a [String])>,
    nodes: &[LiveNode],
    per_region: usize,
) -> Placement {
    let mut by_region: BTreeMap<&str, Vec<&LiveNode>> = BTreeMap::new();
    for n in nodes {
        by_region.entry(n.region.as_str()).or_default().push(n);
    }
    let mut placement = Placement::new();
    for (id, wanted) in monitors {
        let regions: Vec<&str> = if wanted.iter().any(|r| r == ALL_REGIONS) {
            by_region.keys().copied().collect()
        } else {
            wanted.iter().map(String::as_str).collect()
        };
        for region in regions {
            let Some(candidates) = by_region.get(region) else {
                continue;
            };
            let mut scored: Vec<(u64, &str)> = candidates
                .iter()
                .map(|n| (score(id, &n.id), n.id.as_str()))
                .collect();
            scored.sort_unstable_by(|a, b| b.cmp(a));
            for (_, node) in scored.into_iter().take(per_region) {
                placement
                    .entry(node.to_owned())
                    .or_default()
                    .insert(id.to_owned());
            }
        }
    }
    placement
}

/// 64-bit FNV-1a of `monitor \0 node`, finished with a splitmix64 mix so scores spread evenly.
fn score(monitor: &str, node: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in monitor
        .bytes()
        .chain(std::iter::once(0))
        .chain(node.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// What turns `current` into `wanted`: monitors to take off each node, monitors to place on
/// each node (nodes in order, only those with a change).
pub type Moves = (Vec<(String, Vec<String>)>, Vec<(String, Vec<String>)>);

/// The moves that turn `current` into `wanted`.
pub fn diff(current: &Placement, wanted: &Placement) -> Moves {
    let empty = BTreeSet::new();
    let (mut remove, mut add) = (Vec::new(), Vec::new());
    let nodes: BTreeSet<&String> = current.keys().chain(wanted.keys()).collect();
    for node in nodes {
        let want = wanted.get(node).unwrap_or(&empty);
        let have = current.get(node).unwrap_or(&empty);
        let gone: Vec<String> = have.difference(want).cloned().collect();
        let new: Vec<String> = want.difference(have).cloned().collect();
        if !gone.is_empty() {
            remove.push((node.clone(), gone));
        }
        if !new.is_empty() {
            add.push((node.clone(), new));
        }
    }
    (remove, add)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::test_monitor as monitor;

    fn node(id: &str, region: &str) -> LiveNode {
        LiveNode {
            id: id.into(),
            region: region.into(),
        }
    }

    #[test]
    fn one_node_per_named_region() {
        let ms = vec![monitor("m1", &["eu", "us"]), monitor("m2", &["ap"])];
        let ns = vec![node("a", "eu"), node("b", "eu"), node("c", "us")];
        let p = place(&ms, &ns, 1);
        let holders: Vec<&String> = p
            .iter()
            .filter(|(_, s)| s.contains("m1"))
            .map(|(n, _)| n)
            .collect();
        assert_eq!(holders.len(), 2, "{p:?}");
        assert!(p.get("c").is_some_and(|s| s.contains("m1")));
        assert!(
            !p.values().any(|s| s.contains("m2")),
            "no node in ap: m2 is unplaced"
        );
    }

    #[test]
    fn paused_and_all() {
        let mut paused = monitor("p", &["eu"]);
        paused.paused = true;
        let ms = vec![paused, monitor("g", &[ALL_REGIONS])];
        let ns = vec![node("a", "eu"), node("c", "us")];
        let p = place(&ms, &ns, 1);
        assert_eq!(p.get("a").map(|s| s.len()), Some(1));
        assert_eq!(p.get("c").map(|s| s.len()), Some(1));
        assert!(!p.values().any(|s| s.contains("p")));
    }

    #[test]
    fn a_leaving_node_moves_only_its_monitors() {
        let ms: Vec<Monitor> = (0..1000)
            .map(|i| monitor(&format!("m{i}"), &["eu"]))
            .collect();
        let ns: Vec<LiveNode> = (0..5).map(|i| node(&format!("n{i}"), "eu")).collect();
        let before = place(&ms, &ns, 1);
        let after = place(&ms, &ns[1..], 1);
        let moved_from_others: usize = ns[1..]
            .iter()
            .map(|n| before[&n.id].difference(&after[&n.id]).count())
            .sum();
        assert_eq!(moved_from_others, 0, "monitors on surviving nodes stay put");
        let n0 = before["n0"].len();
        assert!((100..=300).contains(&n0), "balanced share, got {n0}");
        let total: usize = after.values().map(|s| s.len()).sum();
        assert_eq!(total, 1000);
    }

    #[test]
    fn diff_lists_only_what_moves() {
        let set = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let current = Placement::from([
            ("a".to_string(), set(&["m1", "m2"])),
            ("b".to_string(), set(&["m3"])),
            ("gone".to_string(), set(&["m4"])),
        ]);
        let wanted = Placement::from([
            ("a".to_string(), set(&["m2", "m1"])),
            ("b".to_string(), set(&["m3", "m4"])),
        ]);
        let (remove, add) = diff(&current, &wanted);
        assert_eq!(remove, vec![("gone".into(), vec!["m4".into()])]);
        assert_eq!(add, vec![("b".into(), vec!["m4".into()])]);
        assert_eq!(diff(&current, &current.clone()), (vec![], vec![]));
    }
}
