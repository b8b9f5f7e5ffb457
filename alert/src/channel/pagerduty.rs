//! PagerDuty Events API v2.
//!
//! Problem events `trigger`, resolution events ([`AlertEvent::is_resolution`]) `resolve`. Both
//! carry `dedup_key` = [`Alert::correlation_key`] (the incident id, else the idempotency key),
//! so reminders of one incident fold into one PagerDuty alert and the recovery closes it.
//! PagerDuty answers `202 Accepted`.
//!
//! [`AlertEvent::is_resolution`]: crate::message::AlertEvent::is_resolution

use std::net::SocketAddr;

use serde::Serialize;
use serde_json::{json, Value};

use super::fields::{field_error, http_url};
use super::{
    http, redacted_debug, truncate_chars, Channel, ChannelConfigError, Example, Fields, SendError,
    Transport,
};
use crate::message::{Alert, AlertEvent};

/// The Events API v2 endpoint.
pub const DEFAULT_URL: &str = "https://events.pagerduty.com/v2/enqueue";
/// Severities PagerDuty accepts.
pub const SEVERITIES: &[&str] = &["critical", "error", "warning", "info"];
/// PagerDuty's limits for `summary` and `dedup_key`.
const SUMMARY_MAX: usize = 1024;
const DEDUP_MAX: usize = 255;

/// Configuration of a PagerDuty Events v2 integration.
#[derive(Clone, PartialEq, Serialize)]
pub struct PagerDutyConfig {
    /// The integration's 32-character routing ("integration") key.
    pub routing_key: String,
    /// Override of [`DEFAULT_URL`] (a proxy or a test receiver).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Severity of triggered events: one of [`SEVERITIES`]; default `critical`. Test alerts are
    /// always `info`.
    pub severity: String,
}

redacted_debug!(PagerDutyConfig);

impl Channel for PagerDutyConfig {
    const SECRET_FIELDS: &'static [&'static str] = &["routing_key"];

    fn parse(f: &mut Fields) -> Result<Self, ChannelConfigError> {
        let routing_key = f.string("routing_key")?;
        if routing_key.len() != 32 || !routing_key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(field_error(
                "routing_key",
                "must be the 32-character integration key of an Events API v2 integration",
            ));
        }
        let url = f.opt_string("url")?;
        if let Some(u) = &url {
            http_url("url", u)?;
        }
        let severity = f
            .opt_string("severity")?
            .unwrap_or_else(|| "critical".to_string());
        if !SEVERITIES.contains(&severity.as_str()) {
            return Err(field_error(
                "severity",
                format!("must be one of {}", SEVERITIES.join(", ")),
            ));
        }
        Ok(Self {
            routing_key,
            url,
            severity,
        })
    }

    async fn send(&self, client: &reqwest::Client, alert: &Alert) -> Result<(), SendError> {
        let url = self.url.as_deref().unwrap_or(DEFAULT_URL);
        let request = client.post(url).json(&self.payload(alert));
        http::execute(request, &self.secrets()).await
    }

    fn example(peer: SocketAddr) -> Example {
        Example {
            config: json!({
                "routing_key": "pdroutingkey5a7e456789abcdefghij",
                "url": format!("http://{peer}/v2/enqueue"),
                "severity": "error",
            }),
            transport: Transport::Http,
            secrets: &["pdroutingkey5a7e456789abcdefghij"],
        }
    }
}

impl PagerDutyConfig {
    /// The event for `alert`: `trigger` with a payload, or `resolve` with only the key.
    pub fn payload(&self, alert: &Alert) -> Value {
        let dedup_key = truncate_chars(alert.correlation_key(), DEDUP_MAX);
        if alert.event.is_resolution() {
            return json!({
                "routing_key": self.routing_key,
                "event_action": "resolve",
                "dedup_key": dedup_key,
            });
        }
        let severity = if alert.event == AlertEvent::Test {
            "info"
        } else {
            self.severity.as_str()
        };
        let (source, component) = match &alert.monitor {
            Some(m) => (m.target.clone(), Some(m.name.clone())),
            None => ("netpulse".to_string(), None),
        };
        json!({
            "routing_key": self.routing_key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "client": "NetPulse",
            "payload": {
                "summary": truncate_chars(&alert.summary, SUMMARY_MAX),
                "source": source,
                "severity": severity,
                "timestamp": alert.timestamp,
                "component": component,
                "class": alert.event.as_str(),
                "custom_details": {
                    "event": alert.event.as_str(),
                    "regions": alert.regions,
                    "incident": alert.incident,
                    "idempotency_key": alert.idempotency_key,
                },
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::{ChannelConfig, ChannelConfig::PagerDuty};

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn validation_names_fields() {
        let cases = [
            (json!({}), "config.routing_key"),
            (json!({"routing_key": "short"}), "config.routing_key"),
            (
                json!({"routing_key": KEY, "severity": "urgent"}),
                "config.severity",
            ),
            (json!({"routing_key": KEY, "url": "mailto:x"}), "config.url"),
        ];
        for (config, field) in cases {
            let e = ChannelConfig::parse("pagerduty", &config).unwrap_err();
            assert_eq!(e.field, field, "{config}: {e}");
        }
    }

    #[test]
    fn trigger_and_resolve_share_the_dedup_key() {
        let Ok(PagerDuty(c)) = ChannelConfig::parse("pagerduty", &json!({"routing_key": KEY}))
        else {
            panic!()
        };
        let down = Alert::new(AlertEvent::MonitorDown, "k1", "down", 0)
            .with_monitor("m", "API", "https://api")
            .with_incident("inc-7", 0, None, false);
        let up = Alert::new(AlertEvent::MonitorUp, "k2", "up", 1000).with_incident(
            "inc-7",
            0,
            Some(1000),
            false,
        );
        let t = c.payload(&down);
        let r = c.payload(&up);
        assert_eq!(t["event_action"], "trigger");
        assert_eq!(t["dedup_key"], "inc-7");
        assert_eq!(t["payload"]["severity"], "critical");
        assert_eq!(t["payload"]["source"], "https://api");
        assert_eq!(r["event_action"], "resolve");
        assert_eq!(r["dedup_key"], "inc-7");
        assert!(r.get("payload").is_none());
        assert_eq!(
            c.payload(&Alert::test("k3", 0))["payload"]["severity"],
            "info"
        );
        assert_eq!(c.payload(&Alert::test("k3", 0))["dedup_key"], "k3");
    }
}
