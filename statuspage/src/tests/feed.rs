//! Atom and RSS: structure, order, stable ids, dates and escaping. (A real XML parser
//! validates both in the e2e tests.)

use super::fixture;
use crate::feed::{atom, rss};
use crate::model::*;

/// The text of every `<tag>…</tag>` in order.
fn texts<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    xml.split(open.as_str())
        .skip(1)
        .filter_map(|rest| rest.split(close.as_str()).next())
        .collect()
}

/// Updates in the fixture: 3 + 3 + 4 + 3 + 1.
const UPDATES: usize = 14;

#[test]
fn atom_feed_structure() {
    let x = atom(&fixture::view());
    assert!(x.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\""
    ));
    assert!(x.ends_with("</feed>\n"));
    let head = &x[..x.find("<entry>").unwrap_or(x.len())];
    assert_eq!(texts(head, "id"), ["tag:netpulse,2026:sp_acme"]);
    assert_eq!(texts(head, "title"), ["Acme Cloud - Incident History"]);
    assert_eq!(
        texts(head, "subtitle"),
        ["Live status of Acme Cloud services"]
    );
    assert_eq!(texts(head, "updated"), ["2026-12-03T21:12:41.123Z"]);
    assert!(head.contains(r#"<link rel="self" type="application/atom+xml" href="https://status.acme.test/history.atom"/>"#));
    assert!(head
        .contains(r#"<link rel="alternate" type="text/html" href="https://status.acme.test"/>"#));
    assert!(head.contains("<author><name>Acme Cloud</name></author>"));

    assert_eq!(x.matches("<entry>").count(), UPDATES);
    assert_eq!(x.matches("</entry>").count(), UPDATES);
    let entries: Vec<&str> = x.split("<entry>").skip(1).collect();
    let first = entries[0];
    assert_eq!(
        texts(first, "id"),
        ["tag:netpulse,2026:sp_acme/inc_api_errors/upd_api_3"]
    );
    assert_eq!(
        texts(first, "title"),
        ["Elevated API error rates: Identified"]
    );
    assert_eq!(texts(first, "updated"), ["2026-12-03T21:12:41.123Z"]);
    assert_eq!(texts(first, "published"), ["2026-12-03T21:12:41.123Z"]);
    assert!(first.contains(
        r#"<link rel="alternate" type="text/html" href="https://status.acme.test#inc_api_errors"/>"#
    ));
    assert!(first.contains(
        "<content type=\"html\">&lt;p&gt;&lt;strong&gt;Identified&lt;/strong&gt; - A faulty deploy in eu-west and ap-south is being rolled back.&lt;/p&gt;&lt;p&gt;Affected: Public API&lt;/p&gt;</content>"
    ));
    // A line break in a body becomes <br> in the HTML content.
    assert!(x.contains("We are still investigating.&lt;br&gt;About 8 % of requests fail."));
}

#[test]
fn entries_newest_first_with_unique_ids() {
    let x = atom(&fixture::view());
    let updated: Vec<&str> = texts(&x, "updated").into_iter().skip(1).collect();
    assert_eq!(updated.len(), UPDATES);
    // RFC 3339 UTC with fixed width sorts as text.
    assert!(updated.windows(2).all(|w| w[0] >= w[1]), "{updated:?}");
    let mut ids: Vec<&str> = texts(&x, "id").into_iter().skip(1).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), UPDATES);
    assert_eq!(
        texts(&x, "title").last().copied(),
        Some("Webhook delays: Resolved")
    );
}

#[test]
fn entry_ids_never_change() {
    let before = fixture::view();
    let mut after = before.clone();
    after.title = "Renamed".into();
    after.url = "https://elsewhere.test".into();
    after.incidents[0].name = "Renamed incident".into();
    after.incidents[0].updates[0].body = "Edited".into();
    after.incidents[0].status = IncidentPhase::Resolved;
    after.incidents.push(IncidentView {
        id: "inc_new".into(),
        name: "New".into(),
        status: IncidentPhase::Investigating,
        impact: Impact::Minor,
        created_at_ms: fixture::NOW,
        updated_at_ms: fixture::NOW,
        monitoring_at_ms: None,
        resolved_at_ms: None,
        components: Vec::new(),
        updates: vec![IncidentUpdateView {
            id: "upd_new".into(),
            status: IncidentPhase::Investigating,
            body: "New".into(),
            created_at_ms: fixture::NOW,
        }],
    });
    let ids_before: Vec<String> = texts(&atom(&before), "id")
        .into_iter()
        .map(String::from)
        .collect();
    let ids_after: Vec<String> = texts(&atom(&after), "id")
        .into_iter()
        .map(String::from)
        .collect();
    // The new entry comes first; every earlier id is unchanged and in the same order.
    assert_eq!(ids_after[1], "tag:netpulse,2026:sp_acme/inc_new/upd_new");
    assert_eq!(ids_before[0], ids_after[0]);
    assert_eq!(ids_before[1..], ids_after[2..]);
}

#[test]
fn rss_feed_structure() {
    let x = rss(&fixture::view());
    assert!(x.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n<channel>\n"));
    assert!(x.ends_with("</channel>\n</rss>\n"));
    let head = &x[..x.find("<item>").unwrap_or(x.len())];
    assert_eq!(texts(head, "title"), ["Acme Cloud - Incident History"]);
    assert_eq!(texts(head, "link"), ["https://status.acme.test"]);
    assert_eq!(
        texts(head, "description"),
        ["Live status of Acme Cloud services"]
    );
    assert_eq!(
        texts(head, "lastBuildDate"),
        ["Thu, 03 Dec 2026 21:12:41 +0000"]
    );
    assert!(head.contains(r#"<atom:link href="https://status.acme.test/history.rss" rel="self" type="application/rss+xml"/>"#));

    assert_eq!(x.matches("<item>").count(), UPDATES);
    assert_eq!(x.matches("</item>").count(), UPDATES);
    assert_eq!(x.matches("<guid isPermaLink=\"false\">").count(), UPDATES);
    let items: Vec<&str> = x.split("<item>").skip(1).collect();
    assert_eq!(
        texts(items[0], "title"),
        ["Elevated API error rates: Identified"]
    );
    assert_eq!(
        texts(items[0], "link"),
        ["https://status.acme.test#inc_api_errors"]
    );
    assert_eq!(
        texts(items[0], "pubDate"),
        ["Thu, 03 Dec 2026 21:12:41 +0000"]
    );
    assert!(items[0].contains(
        "<guid isPermaLink=\"false\">tag:netpulse,2026:sp_acme/inc_api_errors/upd_api_3</guid>"
    ));
    assert!(items[0].contains("<description>&lt;p&gt;&lt;strong&gt;Identified&lt;/strong&gt;"));
    assert_eq!(
        texts(items[UPDATES - 1], "pubDate"),
        ["Fri, 13 Nov 2026 01:00:00 +0000"]
    );

    let mut bare = fixture::view();
    bare.description = None;
    assert!(rss(&bare).contains("<description>Incident history of Acme Cloud</description>"));
}

#[test]
fn everything_is_xml_escaped() {
    let mut v = fixture::view();
    v.title = "A<&>\"'".into();
    v.description = Some("d<&>\"'".into());
    v.incidents[0].name = "n<&>\"'".into();
    v.incidents[0].updates[0].body = "b<&>\"'\u{1}".into();
    v.incidents[0].id = "inc <x>".into();
    for x in [atom(&v), rss(&v)] {
        assert!(x.contains("A&lt;&amp;&gt;&quot;&apos;"), "{x}");
        assert!(x.contains("d&lt;&amp;&gt;&quot;&apos;"));
        assert!(x.contains("n&lt;&amp;&gt;&quot;&apos;: Identified"));
        // The body is escaped for HTML, then the HTML for XML.
        assert!(x.contains("b&amp;lt;&amp;amp;&amp;gt;&amp;quot;&amp;apos;\u{FFFD}"));
        assert!(x.contains("inc%20%3Cx%3E"));
        assert!(!x.contains("<&") && !x.contains('\u{1}'));
    }
}

#[test]
fn empty_history() {
    let mut v = fixture::view();
    v.incidents.clear();
    let a = atom(&v);
    assert!(!a.contains("<entry>") && a.contains("<updated>"));
    let r = rss(&v);
    assert!(!r.contains("<item>") && r.contains("<lastBuildDate>"));
}
