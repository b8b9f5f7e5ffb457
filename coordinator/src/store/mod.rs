//! The coordinator's state: the engine's [`State`] over sled, and the signals readers wait on.
//!
//! The engine applies commands and says what each changed; this module commits to sled (see
//! [`SledTables`]) and turns those changes into the watch channel the UI, placer and
//! dispatcher wait on ([`Versions`], [`ConfigWatch`]) and into the per-reader change feed
//! ([`feed`]).

pub mod feed;
mod sled_tables;
#[cfg(test)]
mod tests;

use std::ops::Deref;

use netpulse_engine::command::{Command, CommandResponse};
use netpulse_engine::state::{Changed, State, StateError};
use netpulse_engine::tables::StorageError;
use tokio::sync::watch;

pub use sled_tables::{flush_db, SledTables};

/// Version counters that readers watch to learn that something changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Versions {
    /// Bumped when monitors or nodes change (assignments may move).
    pub config: u64,
    /// Bumped when results arrive.
    pub results: u64,
    /// Bumped when incidents, channels or notifications change (the dispatcher wakes on it).
    pub alerts: u64,
    /// Bumped when status pages change or a monitor's decision changes (public pages
    /// re-render on it, not on every result).
    pub public: u64,
}

/// Wakes a reader when monitors or nodes change, ignoring result traffic (which bumps only
/// `results`).
///
/// It remembers the configuration version current when the reader last *started reading*
/// ([`ConfigWatch::mark`]), not when it next waits: a change applied while the reader was
/// reading wakes it again. Waiting from "now" lost exactly those changes, which readers that
/// re-read only what changed (placer, assignment publisher) then never saw (found at 100,000
/// monitors: 114 checks never reached any node).
pub struct ConfigWatch {
    rx: watch::Receiver<Versions>,
    seen: u64,
}

impl ConfigWatch {
    /// Watches `rx`, counting its current version as read: call before the first read.
    pub fn new(mut rx: watch::Receiver<Versions>) -> Self {
        let seen = rx.borrow_and_update().config;
        Self { rx, seen }
    }

    /// Waits until the configuration version moves past the last [`ConfigWatch::mark`].
    /// Errs when the store is gone.
    pub async fn changed(&mut self) -> Result<(), watch::error::RecvError> {
        let seen = self.seen;
        self.rx.wait_for(|v| v.config != seen).await.map(|_| ())
    }

    /// Call right before reading the state: changes applied from here on wake the next
    /// [`ConfigWatch::changed`].
    pub fn mark(&mut self) {
        self.seen = self.rx.borrow_and_update().config;
    }
}

/// How long a reader of configuration changes (placer, assignment publisher) waits after a
/// change for more before it re-reads: a burst of writes (an `apply` of thousands of monitors)
/// costs one pass, not one per write.
pub const SETTLE: std::time::Duration = std::time::Duration::from_millis(200);

/// The application state of a coordinator: reads go straight to the engine's [`State`]
/// (through `Deref`); applying goes through [`StateStore::apply`], which also wakes readers.
#[derive(Clone)]
pub struct StateStore {
    state: State<SledTables>,
    db: sled::Db,
    versions: watch::Sender<Versions>,
    /// Monitors and placement changed, for readers that keep their own copy.
    feed: feed::Feed,
}

impl Deref for StateStore {
    type Target = State<SledTables>;

    fn deref(&self) -> &State<SledTables> {
        &self.state
    }
}

impl StateStore {
    /// Opens (or creates) the state in `db`, moving the trees of older versions into the
    /// single state tree first.
    pub fn open(db: &sled::Db) -> Result<Self, StateError> {
        let tables = SledTables::open(db).map_err(StorageError::new)?;
        let (versions, _) = watch::channel(Versions::default());
        Ok(Self {
            state: State::open(tables)?,
            db: db.clone(),
            versions,
            feed: feed::Feed::default(),
        })
    }

    /// Applies one committed command (`index` is its log index) and wakes the readers of
    /// what it changed.
    pub fn apply(&self, cmd: &Command, index: u64) -> Result<CommandResponse, StateError> {
        let applied = self.state.apply(cmd, index)?;
        self.signal(&applied.changed);
        Ok(applied.response)
    }

    /// Replaces the whole state with a snapshot made by `export`, and wakes every reader.
    pub fn import(&self, data: &[u8]) -> Result<(), StateError> {
        let changed = self.state.import(data)?;
        self.signal(&changed);
        Ok(())
    }

    fn signal(&self, changed: &Changed) {
        self.feed.record(changed);
        let public = changed.pages || changed.health;
        if changed.config || changed.results || changed.alerts || public {
            self.versions.send_modify(|v| {
                v.config += u64::from(changed.config);
                v.results += u64::from(changed.results);
                v.alerts += u64::from(changed.alerts);
                v.public += u64::from(public);
            });
        }
    }

    /// Subscribe to change counters (UI live updates, assignment recomputation).
    pub fn subscribe(&self) -> watch::Receiver<Versions> {
        self.versions.subscribe()
    }

    /// Starts tracking which monitors and which nodes' placement change (see [`feed`]).
    pub fn track_changes(&self) -> feed::Tracker {
        self.feed.track()
    }

    /// Flushes state to disk (before a snapshot is reported built).
    pub async fn flush(&self) -> Result<(), StateError> {
        flush_db(&self.db).await.map_err(StorageError::new)?;
        Ok(())
    }
}
