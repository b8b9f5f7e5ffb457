//! Slack incoming webhooks (Block Kit message).
//!
//! The webhook URL is the credential, so [`SlackConfig::redacted`](super::ChannelConfig::redacted)
//! shows only its scheme and host. Slack-compatible receivers (Mattermost, Rocket.Chat) accept
//! the same `text` field and ignore or render the blocks.

use serde_json::{json, Value};

use super::truncate_chars;
use crate::message::Alert;

/// Slack's limit for a section's text.
const SECTION_MAX: usize = 3000;
/// Slack's limit for a header's text.
const HEADER_MAX: usize = 150;
/// Slack allows at most 10 fields in a section.
const FIELDS_MAX: usize = 10;

/// Configuration of a Slack webhook: its URL.
pub type SlackConfig = super::incoming::IncomingWebhook<Slack>;

/// The Slack service: selects [`payload`] as the message format of an incoming webhook.
#[derive(Debug)]
pub enum Slack {}

impl super::incoming::Format for Slack {
    fn payload(alert: &Alert) -> Value {
        payload(alert)
    }
    const EXAMPLE_PATH: &'static str = "/services/T000/B000/slacksecret-5a7e";
    const EXAMPLE_SECRETS: &'static [&'static str] = &["T000/B000/slacksecret-5a7e"];
}

/// Escapes the three characters Slack's mrkdwn treats as control characters.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The message: `text` (the summary, used for notifications and by clients without blocks),
/// a header, the summary section, one field per region and a context line.
pub fn payload(alert: &Alert) -> Value {
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text",
            "text": truncate_chars(&alert.title(), HEADER_MAX)}}),
        json!({"type": "section", "text": {"type": "mrkdwn",
            "text": truncate_chars(&escape(&alert.summary), SECTION_MAX)}}),
    ];
    if !alert.regions.is_empty() {
        let fields: Vec<Value> = alert
            .regions
            .iter()
            .take(FIELDS_MAX)
            .map(|r| {
                let detail = match &r.detail {
                    Some(d) if !d.is_empty() => format!("{} ({})", r.vote.as_str(), d),
                    _ => r.vote.as_str().to_string(),
                };
                json!({"type": "mrkdwn", "text": truncate_chars(
                    &format!("*{}*\n{}", escape(&r.region), escape(&detail)), 2000)})
            })
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    let mut context = vec![format!("`{}`", alert.event.as_str())];
    if let Some(m) = &alert.monitor {
        context.push(escape(&m.target));
    }
    if let Some(i) = &alert.incident {
        context.push(format!("incident {}", escape(&i.id)));
    }
    context.push(alert.timestamp.clone());
    blocks.push(json!({"type": "context", "elements": [
        {"type": "mrkdwn", "text": truncate_chars(&context.join(" · "), SECTION_MAX)}
    ]}));
    json!({"text": truncate_chars(&alert.summary, SECTION_MAX), "blocks": blocks})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::ChannelConfig;
    use crate::message::{AlertEvent, RegionVote};

    #[test]
    fn validation_names_fields() {
        let e = ChannelConfig::parse("slack", &json!({})).unwrap_err();
        assert_eq!(e.to_string(), "config.webhook_url: is required");
        let e = ChannelConfig::parse("slack", &json!({"webhook_url": "hooks.slack.com/x"}))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "config.webhook_url: must be an http or https URL"
        );
    }

    #[test]
    fn redaction_keeps_only_origin() {
        let c = ChannelConfig::parse(
            "slack",
            &json!({"webhook_url": "https://hooks.slack.com/services/T1/B2/XYZ"}),
        )
        .unwrap();
        assert_eq!(
            c.redacted(),
            json!({"webhook_url": "https://hooks.slack.com/********"})
        );
    }

    #[test]
    fn payload_escapes_and_lists_regions() {
        let a = Alert::new(AlertEvent::MonitorDown, "k", "a<b> & c is DOWN", 0)
            .with_monitor("m", "A", "https://a")
            .with_region("eu", RegionVote::Down, Some("HTTP 503".into()));
        let p = payload(&a);
        assert_eq!(p["text"], "a<b> & c is DOWN");
        assert_eq!(p["blocks"][1]["text"]["text"], "a&lt;b&gt; &amp; c is DOWN");
        assert_eq!(p["blocks"][2]["fields"][0]["text"], "*eu*\ndown (HTTP 503)");
        assert_eq!(p["blocks"][0]["text"]["text"], "DOWN: A");
    }
}
