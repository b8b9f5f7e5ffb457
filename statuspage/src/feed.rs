//! Incident history as Atom 1.0 (RFC 4287) and RSS 2.0 feeds.
//!
//! One entry per incident *update*, newest first: a feed reader then shows "Investigating",
//! "Identified", "Resolved" as they are posted, the way Statuspage's feeds do. Each entry's id is
//! a tag URI (RFC 4151) built only from ids that never change,
//! `tag:netpulse,2026:<page id>/<incident id>/<update id>`, so a reader never shows an update twice
//! and never loses one, whatever is renamed later. The date in it is the date the scheme was
//! minted, not the update's: it must stay fixed forever.
//!
//! Both feeds are written by hand (they are small and flat) with every value passing through
//! `escape_xml`. Entry content is HTML (status in bold, the body with its line breaks, the
//! affected components), escaped once more as XML text, as `type="html"` requires.

use crate::model::{IncidentUpdateView, IncidentView, PageView};
use crate::time_fmt::{rfc2822, rfc3339_ms};
use crate::xml::{encode_uri_part, escape_xml, html_text};

/// Authority and date of the tag URIs. Never change it: every published entry id depends on it.
const TAG_PREFIX: &str = "tag:netpulse,2026:";

/// One incident update, with its incident.
struct Entry<'a> {
    incident: &'a IncidentView,
    update: &'a IncidentUpdateView,
}

/// Every update of every incident, newest first; ties broken by incident and update id so the
/// order never depends on the input's.
fn entries(view: &PageView) -> Vec<Entry<'_>> {
    let mut all: Vec<Entry<'_>> = view
        .incidents
        .iter()
        .flat_map(|incident| {
            incident
                .updates
                .iter()
                .map(move |update| Entry { incident, update })
        })
        .collect();
    all.sort_by(|a, b| {
        b.update
            .created_at_ms
            .cmp(&a.update.created_at_ms)
            .then_with(|| a.incident.id.cmp(&b.incident.id))
            .then_with(|| a.update.id.cmp(&b.update.id))
    });
    all
}

impl Entry<'_> {
    /// The stable id (see the module docs).
    fn id(&self, view: &PageView) -> String {
        format!(
            "{TAG_PREFIX}{}/{}/{}",
            encode_uri_part(&view.id),
            encode_uri_part(&self.incident.id),
            encode_uri_part(&self.update.id)
        )
    }

    /// `<incident name>: <Status>`.
    fn title(&self) -> String {
        format!("{}: {}", self.incident.name, self.update.status.label())
    }

    /// The incident's anchor on the page.
    fn link(&self, view: &PageView) -> String {
        format!("{}#{}", view.url, encode_uri_part(&self.incident.id))
    }

    /// The entry as HTML (not yet escaped for XML).
    fn html(&self, view: &PageView) -> String {
        let mut html = format!(
            "<p><strong>{}</strong> - {}</p>",
            escape_xml(self.update.status.label()),
            html_text(&self.update.body)
        );
        let affected: Vec<&str> = self
            .incident
            .components
            .iter()
            .filter_map(|id| view.component(id))
            .map(|c| c.name.as_str())
            .collect();
        if !affected.is_empty() {
            html.push_str(&format!(
                "<p>Affected: {}</p>",
                escape_xml(&affected.join(", "))
            ));
        }
        html
    }
}

/// Feed title: `<page title> - Incident History`, as Statuspage names its feeds.
fn feed_title(view: &PageView) -> String {
    format!("{} - Incident History", view.title)
}

/// The Atom feed (`history.atom`).
pub fn atom(view: &PageView) -> String {
    let mut x = String::with_capacity(4096);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"en\">\n");
    x.push_str(&format!(
        "<id>{}</id>\n",
        escape_xml(&format!("{TAG_PREFIX}{}", encode_uri_part(&view.id)))
    ));
    x.push_str(&format!(
        "<title>{}</title>\n",
        escape_xml(&feed_title(view))
    ));
    if let Some(d) = &view.description {
        x.push_str(&format!("<subtitle>{}</subtitle>\n", escape_xml(d)));
    }
    x.push_str(&format!(
        "<updated>{}</updated>\n",
        rfc3339_ms(view.updated_at_ms)
    ));
    x.push_str(&format!(
        "<link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        escape_xml(&format!("{}/history.atom", view.url))
    ));
    x.push_str(&format!(
        "<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
        escape_xml(&view.url)
    ));
    x.push_str(&format!(
        "<author><name>{}</name></author>\n",
        escape_xml(&view.title)
    ));
    for e in entries(view) {
        let at = rfc3339_ms(e.update.created_at_ms);
        x.push_str("<entry>\n");
        x.push_str(&format!("<id>{}</id>\n", escape_xml(&e.id(view))));
        x.push_str(&format!("<title>{}</title>\n", escape_xml(&e.title())));
        x.push_str(&format!("<updated>{at}</updated>\n"));
        x.push_str(&format!("<published>{at}</published>\n"));
        x.push_str(&format!(
            "<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            escape_xml(&e.link(view))
        ));
        x.push_str(&format!(
            "<content type=\"html\">{}</content>\n",
            escape_xml(&e.html(view))
        ));
        x.push_str("</entry>\n");
    }
    x.push_str("</feed>\n");
    x
}

/// The RSS feed (`history.rss`).
pub fn rss(view: &PageView) -> String {
    let mut x = String::with_capacity(4096);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n<channel>\n");
    x.push_str(&format!(
        "<title>{}</title>\n",
        escape_xml(&feed_title(view))
    ));
    x.push_str(&format!("<link>{}</link>\n", escape_xml(&view.url)));
    let description = view
        .description
        .clone()
        .unwrap_or_else(|| format!("Incident history of {}", view.title));
    x.push_str(&format!(
        "<description>{}</description>\n",
        escape_xml(&description)
    ));
    x.push_str("<language>en</language>\n");
    x.push_str(&format!(
        "<lastBuildDate>{}</lastBuildDate>\n",
        rfc2822(view.updated_at_ms)
    ));
    // Recommended by the RSS Advisory Board so readers can find the feed's own address.
    x.push_str(&format!(
        "<atom:link href=\"{}\" rel=\"self\" type=\"application/rss+xml\"/>\n",
        escape_xml(&format!("{}/history.rss", view.url))
    ));
    for e in entries(view) {
        x.push_str("<item>\n");
        x.push_str(&format!("<title>{}</title>\n", escape_xml(&e.title())));
        x.push_str(&format!("<link>{}</link>\n", escape_xml(&e.link(view))));
        x.push_str(&format!(
            "<description>{}</description>\n",
            escape_xml(&e.html(view))
        ));
        x.push_str(&format!(
            "<guid isPermaLink=\"false\">{}</guid>\n",
            escape_xml(&e.id(view))
        ));
        x.push_str(&format!(
            "<pubDate>{}</pubDate>\n",
            rfc2822(e.update.created_at_ms)
        ));
        x.push_str("</item>\n");
    }
    x.push_str("</channel>\n</rss>\n");
    x
}
