//! Escaping helpers.

use crate::xml::*;

#[test]
fn escapes_the_five_characters() {
    assert_eq!(escape_xml("<&>\"'"), "&lt;&amp;&gt;&quot;&apos;");
    assert_eq!(escape_xml("plain text, é ✓"), "plain text, é ✓");
}

#[test]
fn replaces_characters_xml_forbids() {
    assert_eq!(
        escape_xml("\u{0}a\u{1b}\tb\n\rc\u{FFFE}"),
        "\u{FFFD}a\u{FFFD}\tb\n\rc\u{FFFD}"
    );
}

#[test]
fn html_text_keeps_line_breaks() {
    assert_eq!(html_text("a\r\nb\nc\rd<"), "a<br>b<br>c<br>d&lt;");
}

#[test]
fn uri_parts() {
    assert_eq!(encode_uri_part("inc_1-a.b~Z"), "inc_1-a.b~Z");
    assert_eq!(encode_uri_part("a b/é#"), "a%20b%2F%C3%A9%23");
}
