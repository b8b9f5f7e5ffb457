//! Discord webhooks (one embed).
//!
//! The webhook URL is the credential, so it is redacted to scheme and host. Mentions are
//! disabled (`allowed_mentions.parse = []`): a monitor name or error text containing
//! `@everyone` must not page a whole server.

use serde_json::{json, Value};

use super::truncate_chars;
use crate::message::Alert;

/// Discord limits: message content, embed title, description, field count, name and value.
const CONTENT_MAX: usize = 2000;
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 4096;
const FIELDS_MAX: usize = 25;
const FIELD_NAME_MAX: usize = 256;
const FIELD_VALUE_MAX: usize = 1024;

/// Configuration of a Discord webhook: its URL.
pub type DiscordConfig = super::incoming::IncomingWebhook<Discord>;

/// The Discord service: selects [`payload`] as the message format of an incoming webhook.
#[derive(Debug)]
pub enum Discord {}

impl super::incoming::Format for Discord {
    fn payload(alert: &Alert) -> Value {
        payload(alert)
    }
    const EXAMPLE_PATH: &'static str = "/api/webhooks/1/discordsecret-5a7e";
    const EXAMPLE_SECRETS: &'static [&'static str] = &["discordsecret-5a7e"];
}

/// `content` is the summary; the embed carries title, details, colour, time and one inline
/// field per region.
pub fn payload(alert: &Alert) -> Value {
    let mut description = Vec::new();
    if let Some(m) = &alert.monitor {
        description.push(format!("Target: {}", m.target));
    }
    if let Some(i) = &alert.incident {
        description.push(format!("Incident: {}", i.id));
        description.push(format!("Started: {}", i.started_at));
        if let Some(d) = i.downtime_s {
            description.push(format!("Downtime: {}", crate::message::human_duration(d)));
        }
    }
    if description.is_empty() {
        description.push(alert.summary.clone());
    }
    let fields: Vec<Value> = alert
        .regions
        .iter()
        .take(FIELDS_MAX)
        .map(|r| {
            let value = match &r.detail {
                Some(d) if !d.is_empty() => format!("{} ({d})", r.vote.as_str()),
                _ => r.vote.as_str().to_string(),
            };
            json!({
                "name": truncate_chars(&r.region, FIELD_NAME_MAX),
                "value": truncate_chars(&value, FIELD_VALUE_MAX),
                "inline": true,
            })
        })
        .collect();
    json!({
        "content": truncate_chars(&alert.summary, CONTENT_MAX),
        "allowed_mentions": {"parse": []},
        "embeds": [{
            "title": truncate_chars(&alert.title(), TITLE_MAX),
            "description": truncate_chars(&description.join("\n"), DESCRIPTION_MAX),
            "color": alert.event.severity().color(),
            "timestamp": alert.timestamp,
            "fields": fields,
            "footer": {"text": alert.event.as_str()},
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::ChannelConfig;
    use crate::message::AlertEvent;

    #[test]
    fn validation_names_fields() {
        let e = ChannelConfig::parse("discord", &json!({"webhook_url": ["x"]})).unwrap_err();
        assert_eq!(e.to_string(), "config.webhook_url: must be a string");
    }

    #[test]
    fn payload_blocks_mentions_and_colours() {
        let a = Alert::new(AlertEvent::MonitorUp, "k", "@everyone api is UP", 0);
        let p = payload(&a);
        assert_eq!(p["allowed_mentions"]["parse"], json!([]));
        assert_eq!(p["embeds"][0]["color"], 0x2E_B8_6E);
        assert_eq!(p["embeds"][0]["title"], "RESOLVED");
    }
}
