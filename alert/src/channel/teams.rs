//! Microsoft Teams: an Adaptive Card posted to a Teams webhook.
//!
//! Both the Power Automate "When a Teams webhook request is received" workflow and the older
//! incoming-webhook connectors accept a `message` whose attachment is an Adaptive Card, so one
//! format serves both. The URL is the credential and is redacted to scheme and host.

use serde::Serialize;
use serde_json::{json, Value};

use super::fields::http_url;
use super::{http, redacted_debug, truncate_chars, ChannelConfigError, Fields, SendError};
use crate::message::{Alert, Severity};

/// Configuration of a Teams webhook.
#[derive(Clone, PartialEq, Serialize)]
pub struct TeamsConfig {
    /// The workflow or connector webhook URL.
    pub webhook_url: String,
}

redacted_debug!(TeamsConfig);

impl TeamsConfig {
    pub(crate) fn parse(f: &mut Fields) -> Result<Self, ChannelConfigError> {
        let webhook_url = f.string("webhook_url")?;
        http_url("webhook_url", &webhook_url)?;
        Ok(Self { webhook_url })
    }

    pub(crate) fn redacted(&self) -> Value {
        json!({"webhook_url": super::redact_url_path(&self.webhook_url)})
    }

    pub(crate) async fn send(
        &self,
        client: &reqwest::Client,
        alert: &Alert,
    ) -> Result<(), SendError> {
        let request = client.post(&self.webhook_url).json(&payload(alert));
        http::execute(request, &[&self.webhook_url]).await
    }
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
