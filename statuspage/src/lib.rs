//! NetPulse public status pages: from one plain-data [`PageView`] to everything a visitor or an
//! integration fetches: the HTML page, the Atlassian Statuspage v2 JSON API, Atom and RSS
//! feeds of the incident history, and shields.io-style badges.
//!
//! # Why it is built this way
//! - **Public by construction.** The coordinator fills a [`PageView`] from its replicated state,
//!   and the view has no field for anything private (targets, node names, error messages,
//!   credentials; see [`model`]). Whatever the coordinator knows, only what the view can hold
//!   reaches a visitor, so a rendering bug cannot leak a secret.
//! - **Pure.** Every function here takes the view and returns bytes: no clock (times, including
//!   "now", are in the view), no I/O, no runtime. The same view always gives the same bytes,
//!   which is what makes the next point safe and the tests simple.
//! - **Cached by the caller.** Status pages get their traffic all at once, during an outage.
//!   Because output depends on the view alone, the caller renders each document once per change
//!   of the view and serves the stored bytes; a traffic spike then costs no rendering at all.
//!
//! # Layout
//! - [`model`] holds the view, with [`PageView::overall`] and [`PageView::components`];
//! - [`status`] the API names, labels and ordering of its status enums;
//! - [`html`] renders the page with [`page_html`] (no JavaScript, no external request, light
//!   and dark);
//! - [`api_v2`] writes the `/api/v2/*.json` documents, in Statuspage's exact shapes;
//! - [`feed`] writes [`atom`] and [`rss`], one entry per incident update;
//! - [`badge`] draws [`status_badge`] and [`uptime_badge`];
//! - [`error`] has [`RenderError`], the one error type.
//!
//! ```
//! use netpulse_statuspage::*;
//!
//! let component = |id: &str, name: &str, status| ComponentView {
//!     id: id.into(),
//!     name: name.into(),
//!     description: None,
//!     status,
//!     regions: RegionView::default(),
//!     days: Vec::new(),
//!     uptime: UptimeWindows::default(),
//!     latency: Vec::new(),
//!     position: 1,
//!     created_at_ms: 0,
//!     updated_at_ms: 0,
//! };
//! let view = PageView {
//!     id: "sp_acme".into(),
//!     slug: "acme".into(),
//!     title: "Acme status".into(),
//!     description: None,
//!     url: "https://status.acme.test".into(),
//!     base_path: String::new(),
//!     generated_at_ms: 1_796_333_561_123,
//!     updated_at_ms: 1_796_333_561_123,
//!     stale: None,
//!     groups: vec![GroupView {
//!         id: None,
//!         name: None,
//!         components: vec![
//!             component("cmp_web", "Website", ComponentStatus::Operational),
//!             component("cmp_api", "API", ComponentStatus::PartialOutage),
//!         ],
//!     }],
//!     incidents: Vec::new(),
//!     maintenances: Vec::new(),
//!     options: DisplayOptions {
//!         show_uptime: true,
//!         show_response_times: false,
//!         show_regions: true,
//!         history_days: 90,
//!     },
//! };
//! assert_eq!(view.overall(), ComponentStatus::PartialOutage);
//! assert!(page_html(&view)?.contains("Partial System Outage"));
//! assert!(api_v2::status(&view)?.contains(r#""indicator":"major""#));
//! assert!(atom(&view).starts_with("<?xml"));
//! assert!(status_badge("API", ComponentStatus::PartialOutage).contains("partial outage"));
//! # Ok::<(), RenderError>(())
//! ```

#![deny(missing_docs)]

pub mod api_v2;
pub mod badge;
pub mod error;
pub mod feed;
pub mod html;
pub mod model;
pub mod status;

mod text_width;
mod time_fmt;
mod units;
mod xml;

pub use badge::{status_badge, uptime_badge};
pub use error::RenderError;
pub use feed::{atom, rss};
pub use html::page_html;
pub use model::*;

#[cfg(test)]
mod tests;
