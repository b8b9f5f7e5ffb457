//! shields.io-style "flat" SVG badges for READMEs and dashboards: a grey label, a coloured
//! message.
//!
//! The geometry is badge-maker's: each side is its text width (summed Verdana 11 px advances,
//! see `text_width.rs`) plus 5 px of padding on both sides, text drawn at 10× scale with
//! `textLength` pinned so every renderer fits it to the computed box, and a shadow copy 1 px
//! lower. The badge carries its text
//! as `<title>` and as `aria-label` on `role="img"`, so screen readers and tooltips get
//! "label: message".

use crate::model::ComponentStatus;
use crate::text_width::preferred_width;
use crate::units::uptime_floor;
use crate::xml::escape_xml;

/// Label background (shields.io `grey`).
const LABEL_COLOR: &str = "#555";
/// shields.io `brightgreen`.
const BRIGHTGREEN: &str = "#4c1";
/// shields.io `green`.
const GREEN: &str = "#97ca00";
/// shields.io `yellow`.
const YELLOW: &str = "#dfb317";
/// shields.io `orange`.
const ORANGE: &str = "#fe7d37";
/// shields.io `red`.
const RED: &str = "#e05d44";
/// shields.io `blue`.
const BLUE: &str = "#007ec6";
/// shields.io `lightgrey`, for "no data".
const LIGHTGREY: &str = "#9f9f9f";

/// Padding on each side of a text, pixels.
const PADDING: u32 = 5;
/// Badge height, pixels.
const HEIGHT: u32 = 20;

/// A component's status: `label | operational` (green), `degraded performance` (yellow),
/// `partial outage` (orange), `major outage` (red), `under maintenance` (blue).
pub fn status_badge(label: &str, status: ComponentStatus) -> String {
    let color = match status {
        ComponentStatus::Operational => BRIGHTGREEN,
        ComponentStatus::Degraded => YELLOW,
        ComponentStatus::PartialOutage => ORANGE,
        ComponentStatus::MajorOutage => RED,
        ComponentStatus::Maintenance => BLUE,
    };
    flat(label, &status.label().to_lowercase(), color)
}

/// An uptime figure, floored to two decimals like the page (`99.94%`), coloured brightgreen from
/// 99.9 %, green from 99 %, yellow from 95 %, red below; `no data` in light grey for `None` (or
/// a value that is not a number).
pub fn uptime_badge(label: &str, percent: Option<f64>) -> String {
    match percent.and_then(|p| Some((p, uptime_floor(p)?))) {
        Some((raw, shown)) => {
            let color = if raw >= 99.9 {
                BRIGHTGREEN
            } else if raw >= 99.0 {
                GREEN
            } else if raw >= 95.0 {
                YELLOW
            } else {
                RED
            };
            flat(label, &format!("{shown:.2}%"), color)
        }
        None => flat(label, "no data", LIGHTGREY),
    }
}

/// The flat badge. An empty label gives a message-only badge, as on shields.io.
pub(crate) fn flat(label: &str, message: &str, color: &str) -> String {
    let label_text = preferred_width(label);
    let message_text = preferred_width(message);
    let left = if label.is_empty() {
        0
    } else {
        label_text + 2 * PADDING
    };
    let right = message_text + 2 * PADDING;
    let width = left + right;
    let accessible = if label.is_empty() {
        message.to_owned()
    } else {
        format!("{label}: {message}")
    };
    let accessible = escape_xml(&accessible);

    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{HEIGHT}\" \
         role=\"img\" aria-label=\"{accessible}\"><title>{accessible}</title>\
         <linearGradient id=\"s\" x2=\"0\" y2=\"100%\"><stop offset=\"0\" stop-color=\"#bbb\" \
         stop-opacity=\".1\"/><stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>\
         <clipPath id=\"r\"><rect width=\"{width}\" height=\"{HEIGHT}\" rx=\"3\" fill=\"#fff\"/>\
         </clipPath><g clip-path=\"url(#r)\"><rect width=\"{left}\" height=\"{HEIGHT}\" \
         fill=\"{LABEL_COLOR}\"/><rect x=\"{left}\" width=\"{right}\" height=\"{HEIGHT}\" \
         fill=\"{color}\"/><rect width=\"{width}\" height=\"{HEIGHT}\" fill=\"url(#s)\"/></g>\
         <g fill=\"#fff\" text-anchor=\"middle\" \
         font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" \
         text-rendering=\"geometricPrecision\" font-size=\"110\">"
    );
    if !label.is_empty() {
        // Centre of the label box, at 10× scale: 1 px margin, then padding, then half the text.
        svg.push_str(&text(
            label,
            10 * (1 + PADDING) + 5 * label_text,
            label_text,
        ));
    }
    // The message box starts 1 px before the label box ends (badge-maker's overlap), or at 0.
    let message_start = left.saturating_sub(1);
    svg.push_str(&text(
        message,
        10 * (message_start + PADDING) + 5 * message_text,
        message_text,
    ));
    svg.push_str("</g></svg>");
    svg
}

/// One text with its shadow, centred at `x_10` (tenths of a pixel), `width` pixels wide.
fn text(content: &str, x_10: u32, width: u32) -> String {
    let content = escape_xml(content);
    let length = 10 * width;
    format!(
        "<text aria-hidden=\"true\" x=\"{x_10}\" y=\"150\" fill=\"#010101\" fill-opacity=\".3\" \
         transform=\"scale(.1)\" textLength=\"{length}\">{content}</text>\
         <text x=\"{x_10}\" y=\"140\" transform=\"scale(.1)\" fill=\"#fff\" \
         textLength=\"{length}\">{content}</text>"
    )
}
