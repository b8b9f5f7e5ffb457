//! Reading configuration lists a page at a time, in key order, from after a cursor.
//!
//! Lists used to be read whole: `GET /v1/monitors` at 5,000 monitors answered 4.2 MB in one
//! response and decoded every record on each call. A page reads `limit + 1` records from the
//! cursor on (the extra one only tells whether more follow).

use std::ops::Bound;

use serde::de::DeserializeOwned;

use super::alerting::{ChannelRecord, Maintenance};
use super::model::{EdgeNode, JoinTokenRecord, Monitor};
use super::{from_json, State, StateError};
use crate::tables::{Table, Tables};

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The records, in key order.
    pub items: Vec<T>,
    /// The key of the last record when more follow: the cursor of the next page.
    pub next: Option<String>,
}

impl<T: Tables + Clone> State<T> {
    fn page_json<R: DeserializeOwned>(
        &self,
        table: Table,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<R>, StateError> {
        let name = table.name();
        let range = match after {
            Some(a) => {
                self.table(table)
                    .scan(Bound::Excluded(a.as_bytes()), Bound::Unbounded, false)
            }
            None => self.table(table).iter(),
        };
        let mut items = Vec::with_capacity(limit.min(1024));
        let mut last_key = None;
        for kv in range {
            let (k, v) = kv?;
            if items.len() == limit {
                return Ok(Page {
                    items,
                    next: last_key,
                });
            }
            items.push(from_json(name, &v)?);
            last_key = Some(String::from_utf8_lossy(&k).into_owned());
        }
        Ok(Page { items, next: None })
    }

    /// Monitors by id, after `after`.
    pub fn monitors_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Monitor>, StateError> {
        self.page_json(Table::Monitors, after, limit)
    }

    /// Edge nodes by id, after `after`.
    pub fn nodes_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<EdgeNode>, StateError> {
        self.page_json(Table::Nodes, after, limit)
    }

    /// Alert channels by id, after `after`.
    pub fn channels_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<ChannelRecord>, StateError> {
        self.page_json(Table::Channels, after, limit)
    }

    /// Maintenance windows by id, after `after`.
    pub fn maintenances_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Maintenance>, StateError> {
        self.page_json(Table::Maintenance, after, limit)
    }

    /// Join tokens by id, after `after`.
    pub fn tokens_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<JoinTokenRecord>, StateError> {
        self.page_json(Table::Tokens, after, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::super::command::Command;
    use super::super::tests_alerting::World;

    #[test]
    fn pages_walk_every_record_once_in_order() {
        let mut w = World::new();
        for i in 0..25 {
            let mut m = super::super::tests_alerting::monitor();
            m.id = format!("mon_{i:02}");
            w.apply(Command::PutMonitor {
                monitor: Box::new(m),
                expect_existing: false,
            });
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = w.s.monitors_page(cursor.as_deref(), 10).expect("page");
            assert!(page.items.len() <= 10);
            seen.extend(page.items.iter().map(|m| m.id.clone()));
            match page.next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        // The world's own monitor plus the 25.
        let all: Vec<String> =
            w.s.monitors()
                .expect("all")
                .into_iter()
                .map(|m| m.id)
                .collect();
        assert_eq!(seen, all);
        assert_eq!(seen.len(), 26);
        let exact = w.s.monitors_page(None, 26).expect("page");
        assert_eq!(exact.next, None, "no cursor when nothing follows");
    }
}
