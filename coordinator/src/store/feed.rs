//! Which monitors and which nodes' placement changed since a reader last looked.
//!
//! Fed from what each applied command reports it changed ([`netpulse_engine::state::Changed`]).
//!
//! The placer and the assignment publisher used to decode every monitor after each settled
//! change (and the placer once a second besides): at 100,000 monitors that is 100,000 JSON
//! records per pass, the coordinator's largest cost in CPU and in memory the allocator keeps.
//! With a [`Tracker`] each re-reads what changed. Applying records a change in every live
//! tracker; a tracker that is new, overflows, or sees a snapshot installed asks for one full
//! pass instead.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use netpulse_engine::state::Changed;

/// Pending ids above which a tracker asks for a full pass instead: by then one pass over
/// everything costs less than the set.
pub const MAX_PENDING: usize = 50_000;

/// What changed since the last [`Tracker::take`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Anything may have changed: read everything (first look, overflow, snapshot installed).
    pub all: bool,
    /// Monitors written, deleted or re-keyed.
    pub monitors: BTreeSet<String>,
    /// Nodes whose placed set changed.
    pub placement: BTreeSet<String>,
}

impl Changes {
    fn everything() -> Changes {
        Changes {
            all: true,
            ..Changes::default()
        }
    }

    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        !self.all && self.monitors.is_empty() && self.placement.is_empty()
    }

    fn record(&mut self, f: impl FnOnce(&mut Changes)) {
        if self.all {
            return;
        }
        f(self);
        if self.monitors.len() + self.placement.len() > MAX_PENDING {
            *self = Changes::everything();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves a set of ids that is still a valid set.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The store's side: every live tracker.
#[derive(Clone, Default)]
pub(super) struct Feed {
    trackers: Arc<Mutex<Vec<Weak<Mutex<Changes>>>>>,
}

impl Feed {
    pub(super) fn track(&self) -> Tracker {
        let pending = Arc::new(Mutex::new(Changes::everything()));
        lock(&self.trackers).push(Arc::downgrade(&pending));
        Tracker { pending }
    }

    fn each(&self, f: impl Fn(&mut Changes)) {
        lock(&self.trackers).retain(|t| match t.upgrade() {
            Some(c) => {
                f(&mut lock(&c));
                true
            }
            None => false,
        });
    }

    /// Records in every tracker what one applied command changed.
    pub(super) fn record(&self, changed: &Changed) {
        if changed.everything {
            self.each(|c| *c = Changes::everything());
            return;
        }
        if changed.monitors.is_empty() && changed.placement.is_empty() {
            return;
        }
        self.each(|c| {
            c.record(|c| {
                c.monitors.extend(changed.monitors.iter().cloned());
                c.placement.extend(changed.placement.iter().cloned());
            })
        });
    }
}

/// One reader's view of the changes. Dropping it unregisters it.
pub struct Tracker {
    pending: Arc<Mutex<Changes>>,
}

impl Tracker {
    /// What changed since the last call (everything, on the first). Take before reading the
    /// store: a change applied during the read is then reported again next time, never lost.
    pub fn take(&self) -> Changes {
        std::mem::take(&mut *lock(&self.pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids<const N: usize>(v: [&str; N]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn first_look_is_everything_then_only_what_changed() {
        let feed = Feed::default();
        let t = feed.track();
        assert!(t.take().all);
        assert!(t.take().is_empty());
        feed.record(&Changed {
            monitors: ids(["m1"]),
            placement: ids(["n1", "n2"]),
            ..Changed::default()
        });
        let c = t.take();
        assert!(!c.all);
        assert_eq!(c.monitors, BTreeSet::from(["m1".to_string()]));
        assert_eq!(
            c.placement,
            BTreeSet::from(["n1".to_string(), "n2".to_string()])
        );
        feed.record(&Changed {
            everything: true,
            ..Changed::default()
        });
        assert!(t.take().all);
    }

    #[test]
    fn overflow_turns_into_everything_and_dropped_trackers_go() {
        let feed = Feed::default();
        let t = feed.track();
        t.take();
        for i in 0..=MAX_PENDING {
            feed.record(&Changed {
                monitors: BTreeSet::from([format!("m{i}")]),
                ..Changed::default()
            });
        }
        let c = t.take();
        assert!(c.all && c.monitors.is_empty());
        drop(t);
        feed.record(&Changed {
            monitors: ids(["m"]),
            ..Changed::default()
        });
        assert!(lock(&feed.trackers).is_empty());
    }

    /// A change applied while a reader reads (after `mark`) wakes the reader's next wait,
    /// with no further change: the wake-up the old "wait from now" helper lost.
    #[tokio::test(start_paused = true)]
    async fn a_change_during_a_read_wakes_the_next_wait() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = sled::open(dir.path()).expect("sled");
        let store = super::super::StateStore::open(&db).expect("store");
        let mut config = super::super::ConfigWatch::new(store.subscribe());
        let tracker = store.track_changes();
        config.mark();
        tracker.take();
        // "During the read": a monitor is written.
        let cmd = netpulse_engine::command::Command::PutMonitor {
            monitor: Box::new(netpulse_engine::fixtures::test_monitor("m1", &["eu"])),
            expect_existing: false,
        };
        store.apply(&cmd, 1).expect("apply");
        let woke = tokio::time::timeout(std::time::Duration::from_secs(3600), config.changed())
            .await
            .expect("woken without another change");
        assert!(woke.is_ok());
        config.mark();
        assert_eq!(tracker.take().monitors, BTreeSet::from(["m1".to_string()]));
        // Nothing new since the mark: the wait holds.
        assert!(
            tokio::time::timeout(std::time::Duration::from_secs(3600), config.changed())
                .await
                .is_err()
        );
    }
}
