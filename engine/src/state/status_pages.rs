//! Public status pages as replicated configuration: which monitors make up which public
//! component, under which slug and custom domain.
//!
//! A page is configuration like a monitor, so it lives in the log and every coordinator can
//! serve it from its own state, even without quorum. Slugs and custom domains route public
//! requests, so each must name one page: uniqueness is checked when the write applies (in log
//! order, the same on every replica), not only by the API, so two concurrent creates cannot
//! both win.

use serde::{Deserialize, Serialize};

use super::command::CommandResponse;
use super::{from_json, json, State, StateError};
use crate::tables::{Table, Tables};

/// A public status page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusPageRecord {
    /// `sp_` + 16 hex chars.
    pub id: String,
    /// Path segment the page is served under (`/<slug>`): lowercase letters, digits, dashes.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Text under the title.
    pub description: Option<String>,
    /// A host name whose requests get this page at `/` (lowercase, no port).
    pub custom_domain: Option<String>,
    /// Components in display order.
    pub components: Vec<PageComponent>,
    /// What the page shows.
    pub options: PageOptions,
    /// Created, Unix ms.
    pub created_at_ms: i64,
    /// Last written, Unix ms.
    pub updated_at_ms: i64,
}

/// A public component: a name over one or more monitors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageComponent {
    /// `cmp_` + 16 hex chars; kept across updates so feeds and the JSON API stay stable.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Public description.
    pub description: Option<String>,
    /// Group heading it is shown under.
    pub group: Option<String>,
    /// Monitors whose decided state makes up its status.
    pub monitors: Vec<String>,
    /// When it was added to the page, Unix ms.
    pub created_at_ms: i64,
}

/// Display options of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageOptions {
    /// Day bars and uptime percentages.
    pub show_uptime: bool,
    /// The response-time chart.
    pub show_response_times: bool,
    /// Which regions see a component failing.
    pub show_regions: bool,
    /// Days of bars (1 to 90).
    pub history_days: u32,
}

impl Default for PageOptions {
    fn default() -> Self {
        Self {
            show_uptime: true,
            show_response_times: true,
            show_regions: true,
            history_days: 90,
        }
    }
}

impl<T: Tables + Clone> State<T> {
    /// Every status page, by id.
    pub fn status_pages(&self) -> Result<Vec<StatusPageRecord>, StateError> {
        let name = Table::StatusPages.name();
        self.table(Table::StatusPages)
            .iter()
            .map(|kv| {
                let (_, v) = kv?;
                from_json(name, &v)
            })
            .collect()
    }

    /// One status page by id.
    pub fn status_page(&self, id: &str) -> Result<Option<StatusPageRecord>, StateError> {
        match self.table(Table::StatusPages).get(id.as_bytes())? {
            Some(v) => from_json(Table::StatusPages.name(), &v).map(Some),
            None => Ok(None),
        }
    }

    pub(super) fn put_status_page(
        &self,
        page: &StatusPageRecord,
        expect_existing: bool,
    ) -> Result<CommandResponse, StateError> {
        let existing = self.status_page(&page.id)?;
        match (expect_existing, &existing) {
            (true, None) => {
                return Ok(CommandResponse::NotFound(format!(
                    "status page {}",
                    page.id
                )))
            }
            (false, Some(_)) => {
                return Ok(CommandResponse::Conflict(format!(
                    "status page {} exists",
                    page.id
                )))
            }
            _ => {}
        }
        for other in self.status_pages()? {
            if other.id == page.id {
                continue;
            }
            if other.slug == page.slug {
                return Ok(CommandResponse::Conflict(format!(
                    "slug {:?} is taken by status page {}",
                    page.slug, other.id
                )));
            }
            if page.custom_domain.is_some() && other.custom_domain == page.custom_domain {
                return Ok(CommandResponse::Conflict(format!(
                    "custom domain {:?} is taken by status page {}",
                    page.custom_domain.as_deref().unwrap_or_default(),
                    other.id
                )));
            }
        }
        let mut stored = page.clone();
        if let Some(old) = existing {
            stored.created_at_ms = old.created_at_ms;
        }
        self.table(Table::StatusPages)
            .insert(page.id.as_bytes(), json(&stored))?;
        self.note(|c| c.pages = true);
        Ok(CommandResponse::Ok)
    }

    pub(super) fn delete_status_page(&self, id: &str) -> Result<CommandResponse, StateError> {
        if self
            .table(Table::StatusPages)
            .remove(id.as_bytes())?
            .is_none()
        {
            return Ok(CommandResponse::NotFound(format!("status page {id}")));
        }
        self.note(|c| c.pages = true);
        Ok(CommandResponse::Ok)
    }
}
