//! The placer: on the leader, it places monitors on the nodes heard from within the node
//! timeout (rendezvous hashing, [`netpulse_engine::placement::place`]) and commits the nodes whose set
//!   changed. A node that falls silent keeps its checks until the timeout, so a brief reconnect
//!   moves nothing; after it, its checks move to another node of the same region.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::context::Context;
use crate::now_ms;
use crate::store::feed::Tracker;
use crate::store::ConfigWatch;
use netpulse_engine::command::Command;
use netpulse_engine::placement::{diff, place_each, LiveNode, Placement};

/// How often the leader re-evaluates placement (also after every configuration change).
pub const PLACE_INTERVAL: Duration = Duration::from_secs(1);
/// Edge nodes per region each monitor runs on.
pub const NODES_PER_REGION: usize = 1;

/// On the leader, keeps the committed placement in line with monitors and live nodes.
pub async fn placer(ctx: Context, node_timeout: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut config = ConfigWatch::new(ctx.store().subscribe());
    let mut tick = tokio::time::interval(PLACE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut placer = Placer::new(ctx.store());
    loop {
        tokio::select! {
            // Liveness moves with time alone.
            _ = tick.tick() => {}
            // Monitors or nodes changed; result batches alone never move placement.
            r = config.changed() => {
                if r.is_err() {
                    return;
                }
                // Let a burst of writes settle: one pass, not one per write.
                tokio::time::sleep(crate::store::SETTLE).await;
            }
            _ = shutdown.changed() => return,
        }
        config.mark();
        // Followers keep their copy current too, so a new leader places at once.
        if let Err(e) = placer.refresh(ctx.store()) {
            tracing::warn!(error = %e, "placement inputs not read; reading everything next time");
            placer = Placer::new(ctx.store());
            continue;
        }
        if !ctx.is_leader() {
            continue;
        }
        if let Err(e) = placer.place(&ctx, node_timeout).await {
            tracing::warn!(error = %e, "placement not updated");
        }
    }
}

/// Why a placement pass did not complete; the next tick tries again.
#[derive(Debug, thiserror::Error)]
enum PlaceError {
    #[error(transparent)]
    State(#[from] netpulse_engine::state::StateError),
    #[error("placement not committed: {0}")]
    Write(#[source] crate::context::WriteError),
}

/// The placer's copy of its inputs, kept current from the store's change feed: a pass
/// re-reads the monitors and node sets that changed, and places only when something did (a
/// monitor, the committed placement, or the set of live nodes).
struct Placer {
    tracker: Tracker,
    /// Regions of every unpaused monitor, each distinct list held once (most monitors name
    /// the same few lists: 100,000 copies cost ~15 MB).
    monitors: BTreeMap<String, Arc<[String]>>,
    /// The distinct region lists.
    region_lists: HashSet<Arc<[String]>>,
    /// The committed placement.
    placed: Placement,
    /// Live nodes at the last pass.
    live: Vec<LiveNode>,
    /// Inputs changed since placement last matched them.
    dirty: bool,
}

impl Placer {
    fn new(store: &crate::store::StateStore) -> Self {
        Self {
            tracker: store.track_changes(),
            monitors: BTreeMap::new(),
            region_lists: HashSet::new(),
            placed: Placement::new(),
            live: Vec::new(),
            dirty: true,
        }
    }

    fn refresh(&mut self, store: &crate::store::StateStore) -> Result<(), PlaceError> {
        let changes = self.tracker.take();
        if changes.is_empty() {
            return Ok(());
        }
        self.dirty = true;
        if changes.all {
            self.monitors = BTreeMap::new();
            for m in store.monitors()?.into_iter().filter(|m| !m.paused) {
                let regions = self.intern(m.regions);
                self.monitors.insert(m.id, regions);
            }
            self.placed = store
                .placement()?
                .into_iter()
                .map(|(node, ids)| (node, ids.into_iter().collect()))
                .collect();
            return Ok(());
        }
        for id in changes.monitors {
            match store.monitor(&id)?.filter(|m| !m.paused) {
                Some(m) => {
                    let regions = self.intern(m.regions);
                    self.monitors.insert(id, regions)
                }
                None => self.monitors.remove(&id),
            };
        }
        for node in changes.placement {
            let ids = store.placement_of(&node)?;
            if ids.is_empty() {
                self.placed.remove(&node);
            } else {
                self.placed.insert(node, ids);
            }
        }
        Ok(())
    }

    fn intern(&mut self, regions: Vec<String>) -> Arc<[String]> {
        if let Some(known) = self.region_lists.get(regions.as_slice()) {
            return known.clone();
        }
        let list: Arc<[String]> = regions.into();
        self.region_lists.insert(list.clone());
        list
    }

    async fn place(&mut self, ctx: &Context, node_timeout: Duration) -> Result<(), PlaceError> {
        let now = now_ms();
        let timeout_ms = i64::try_from(node_timeout.as_millis()).unwrap_or(i64::MAX);
        let live: Vec<LiveNode> = ctx
            .store()
            .nodes()?
            .into_iter()
            .filter(|n| !n.revoked && now.saturating_sub(n.last_seen_ms) < timeout_ms)
            .map(|n| LiveNode {
                id: n.id,
                region: n.region,
            })
            .collect();
        if live != self.live {
            self.live = live;
            self.dirty = true;
        }
        if !self.dirty {
            return Ok(());
        }
        let wanted = place_each(
            self.monitors
                .iter()
                .map(|(id, regions)| (id.as_str(), &regions[..])),
            &self.live,
            NODES_PER_REGION,
        );
        let (remove, add) = diff(&self.placed, &wanted);
        if remove.is_empty() && add.is_empty() {
            self.dirty = false;
            return Ok(());
        }
        let count = |v: &[(String, Vec<String>)]| v.iter().map(|(_, m)| m.len()).sum::<usize>();
        tracing::info!(
            placed = count(&add),
            removed = count(&remove),
            live = self.live.len(),
            "placement changed"
        );
        // Stays dirty: the committed moves come back through the change feed, and the pass
        // after them finds nothing left to move.
        let (added, removed) = (count(&add), count(&remove));
        ctx.write(Command::MovePlacement { remove, add })
            .await
            .map_err(PlaceError::Write)?;
        ctx.metrics().placement_moved(added, removed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StateStore;

    /// After any sequence of writes, the placer's copy equals a fresh full read, and placing
    /// from it equals placing from every stored monitor.
    #[test]
    fn the_placers_copy_follows_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = sled::open(dir.path()).expect("sled");
        let store = StateStore::open(&db).expect("store");
        let apply = |cmd: Command, index: u64| {
            store.apply(&cmd, index).expect("apply");
        };
        let put = |m: netpulse_engine::model::Monitor, existing: bool, index: u64| {
            apply(
                Command::PutMonitor {
                    monitor: Box::new(m),
                    expect_existing: existing,
                },
                index,
            )
        };
        let mut placer = Placer::new(&store);
        let check = |placer: &Placer| {
            let mut fresh = Placer::new(&store);
            fresh.refresh(&store).expect("full read");
            assert_eq!(placer.monitors, fresh.monitors);
            assert_eq!(placer.placed, fresh.placed);
            let nodes = [
                LiveNode {
                    id: "n1".into(),
                    region: "eu".into(),
                },
                LiveNode {
                    id: "n2".into(),
                    region: "us".into(),
                },
            ];
            let from_copy = place_each(
                placer
                    .monitors
                    .iter()
                    .map(|(id, regions)| (id.as_str(), &regions[..])),
                &nodes,
                NODES_PER_REGION,
            );
            let all = store.monitors().expect("monitors");
            assert_eq!(
                from_copy,
                netpulse_engine::placement::place(&all, &nodes, NODES_PER_REGION)
            );
        };
        placer.refresh(&store).expect("first");
        put(
            netpulse_engine::fixtures::test_monitor("m1", &["eu"]),
            false,
            1,
        );
        put(
            netpulse_engine::fixtures::test_monitor("m2", &["eu", "us"]),
            false,
            2,
        );
        placer.refresh(&store).expect("refresh");
        assert!(placer.dirty);
        check(&placer);
        let mut paused = netpulse_engine::fixtures::test_monitor("m1", &["eu"]);
        paused.paused = true;
        put(paused, true, 3);
        apply(
            Command::MovePlacement {
                remove: vec![],
                add: vec![("n1".into(), vec!["m2".into()])],
            },
            4,
        );
        apply(Command::DeleteMonitor { id: "m2".into() }, 5);
        put(
            netpulse_engine::fixtures::test_monitor("m3", &["all"]),
            false,
            6,
        );
        placer.refresh(&store).expect("refresh");
        check(&placer);
        assert_eq!(placer.monitors.len(), 1, "only m3 runs");
    }
}
