//! Escaping for the documents this crate writes by hand (feeds, badges): XML text and
//! attributes, and URL fragments and tag-URI parts.
//!
//! The HTML page does not use these: askama escapes it.

/// Escapes `s` for XML 1.0 text and attribute values (quoted with either quote).
///
/// Characters XML 1.0 forbids outright (C0 controls other than tab, newline and carriage return,
/// U+FFFE and U+FFFF) cannot be escaped at all, only replaced: they become U+FFFD, so a stray
/// control byte in an incident body cannot make a whole feed unparseable.
pub(crate) fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for HTML content (used to build the HTML that feeds carry as escaped content):
/// the same five characters as [`escape_xml`], and line breaks become `<br>`.
pub(crate) fn html_text(s: &str) -> String {
    escape_xml(s)
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "<br>")
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so ids can go into URL
/// fragments and tag URIs whatever they contain.
pub(crate) fn encode_uri_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
