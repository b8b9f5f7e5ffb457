//! What applying a command changed, so the runtime can wake exactly the readers that care.
//!
//! The state machine does not signal anyone itself: it returns a [`Changed`] with each
//! [`Applied`] command, and the coordinator turns that into its watch channels and change
//! feeds. That keeps the rules free of any runtime and makes "which views changed" something a
//! test can assert.

use std::collections::BTreeSet;

use super::command::CommandResponse;

/// The outcome of one applied command.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// What the command's writer gets back.
    pub response: CommandResponse,
    /// Which views it changed.
    pub changed: Changed,
}

/// Which views a command changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    /// Monitors, nodes or placement changed (assignments may move).
    pub config: bool,
    /// Results, health or node activity changed.
    pub results: bool,
    /// Incidents, channels, maintenance or notifications changed (the dispatcher wakes).
    pub alerts: bool,
    /// Status page configuration changed (public pages re-render).
    pub pages: bool,
    /// A monitor's decision changed (its health or how many regions vote which way): what a
    /// status page shows, without the result traffic that does not change it.
    pub health: bool,
    /// The whole state was replaced (a snapshot installed): every reader re-reads everything.
    pub everything: bool,
    /// Monitors written, deleted or re-keyed.
    pub monitors: BTreeSet<String>,
    /// Nodes whose placed set changed.
    pub placement: BTreeSet<String>,
}

impl Changed {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == Changed::default()
    }

    pub(super) fn monitor(&mut self, id: &str) {
        if !self.monitors.contains(id) {
            self.monitors.insert(id.to_owned());
        }
    }
}
