//! Microsoft Teams: an Adaptive Card posted to a Teams webhook.
//!
//! Both the Power Automate "When a Teams webhook request is received" workflow and the older
//! incoming-webhook connectors accept a `message` whose attachment is an Adaptive Card, so one
//! format serves both. The URL is the credential and is redacted to scheme and host.

use serde_json::{json, Value};

use super::truncate_chars;
use crate::message::{Alert, Severity};

/// Configuration of a Teams webhook: its URL.
pub type TeamsConfig = super::incoming::IncomingWebhook<Teams>;

/// The Teams service: selects [`payload`] as the message format of an incoming webhook.
#[derive(Debug)]
pub enum Teams {}

impl super::incoming::Format for Teams {
    fn payload(alert: &Alert) -> Value {
        payload(alert)
    }
    const EXAMPLE_PATH: &'static str = "/webhookb2/teamssecret-5a7e";
    const EXAMPLE_SECRETS: &'static [&'static str] = &["teamssecret-5a7e"];
}

/// A `message` with one Adaptive Card (schema 1.4): coloured title, summary, and a fact set
/// with event, target, incident, time and one fact per region.
pub fn payload(alert: &Alert) -> Value {
    let color = match alert.event.severity() {
        Severity::Critical => "Attention",
        Severity::Warning => "Warning",
        Severity::Ok => "Good",
        Severity::Info => "Accent",
    };
    let mut facts = vec![json!({"title": "Event", "value": alert.event.as_str()})];
    if let Some(m) = &alert.monitor {
        facts.push(json!({"title": "Target", "value": m.target}));
    }
    if let Some(i) = &alert.incident {
        facts.push(json!({"title": "Incident", "value": i.id}));
    }
    for r in alert.regions.iter().take(20) {
        let value = match &r.detail {
            Some(d) if !d.is_empty() => format!("{} ({d})", r.vote.as_str()),
            _ => r.vote.as_str().to_string(),
        };
        facts.push(json!({"title": r.region, "value": value}));
    }
    facts.push(json!({"title": "Time", "value": alert.timestamp}));
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": truncate_chars(&alert.title(), 200),
                     "weight": "Bolder", "size": "Medium", "color": color, "wrap": true},
                    {"type": "TextBlock", "text": truncate_chars(&alert.summary, 2000),
                     "wrap": true},
                    {"type": "FactSet", "facts": facts},
                ],
            },
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::ChannelConfig;

    #[test]
    fn validation_names_fields() {
        let e = ChannelConfig::parse("teams", &json!({"url": "https://x"})).unwrap_err();
        assert_eq!(e.to_string(), "config.webhook_url: is required");
    }

    #[test]
    fn payload_is_an_adaptive_card() {
        let p = payload(&Alert::test("k", 0));
        let card = &p["attachments"][0];
        assert_eq!(
            card["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(card["content"]["type"], "AdaptiveCard");
        assert_eq!(card["content"]["body"][0]["color"], "Accent");
    }
}
