//! Opsgenie Alert API v2.
//!
//! Problem events create an alert (`POST /v2/alerts`) with `alias` = [`Alert::correlation_key`];
//! Opsgenie folds creates with the alias of an open alert into it, so reminders do not open new
//! alerts. Resolution events close it (`POST /v2/alerts/{alias}/close?identifierType=alias`).
//! Both answer `202 Accepted` (processing is asynchronous on Opsgenie's side). The EU instance
//! is `api_url = https://api.eu.opsgenie.com`.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::Serialize;
use serde_json::{json, Value};

use super::fields::{base_url, field_error, token};
use super::{
    http, redacted_debug, truncate_chars, Channel, ChannelConfigError, Example, Fields, SendError,
    Transport,
};
use crate::message::{Alert, AlertEvent};

/// The US instance.
pub const DEFAULT_API_URL: &str = "https://api.opsgenie.com";
/// Priorities Opsgenie accepts.
pub const PRIORITIES: &[&str] = &["P1", "P2", "P3", "P4", "P5"];
/// Opsgenie's limits for message, alias and description.
const MESSAGE_MAX: usize = 130;
const ALIAS_MAX: usize = 512;
const DESCRIPTION_MAX: usize = 15000;

/// Configuration of an Opsgenie API integration.
#[derive(Clone, PartialEq, Serialize)]
pub struct OpsgenieConfig {
    /// The API integration key, sent as `Authorization: GenieKey <key>`.
    pub api_key: String,
    /// Override of [`DEFAULT_API_URL`] (EU instance, test receiver).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Alert priority `P1`..`P5`; when absent Opsgenie applies its default (P3). Test alerts
    /// are always `P5`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
}

redacted_debug!(OpsgenieConfig);

impl Channel for OpsgenieConfig {
    const SECRET_FIELDS: &'static [&'static str] = &["api_key"];

    fn parse(f: &mut Fields) -> Result<Self, ChannelConfigError> {
        let api_key = f.string("api_key")?;
        token("api_key", &api_key)?;
        let api_url = base_url("api_url", f.opt_string("api_url")?)?;
        let priority = f.opt_string("priority")?.map(|p| p.to_ascii_uppercase());
        if let Some(p) = &priority {
            if !PRIORITIES.contains(&p.as_str()) {
                return Err(field_error("priority", "must be one of P1, P2, P3, P4, P5"));
            }
        }
        Ok(Self {
            api_key,
            api_url,
            priority,
        })
    }

    async fn send(&self, client: &reqwest::Client, alert: &Alert) -> Result<(), SendError> {
        let request = client
            .post(self.endpoint(alert)?)
            .header(
                reqwest::header::AUTHORIZATION,
                format!("GenieKey {}", self.api_key),
            )
            .json(&self.payload(alert));
        http::execute(request, &self.secrets()).await
    }

    fn example(peer: SocketAddr) -> Example {
        Example {
            config: json!({
                "api_key": "og-key-0000-secret-5a7e",
                "api_url": format!("http://{peer}"),
                "priority": "P2",
            }),
            transport: Transport::Http,
            secrets: &["og-key-0000-secret-5a7e"],
        }
    }
}

impl OpsgenieConfig {
    fn base(&self) -> &str {
        self.api_url.as_deref().unwrap_or(DEFAULT_API_URL)
    }

    /// The alias used for `alert`.
    pub fn alias(alert: &Alert) -> String {
        truncate_chars(alert.correlation_key(), ALIAS_MAX)
    }

    /// Where `alert` is POSTed: the create endpoint, or the close endpoint of its alias.
    pub fn endpoint(&self, alert: &Alert) -> Result<reqwest::Url, SendError> {
        let mut url = reqwest::Url::parse(&format!("{}/v2/alerts", self.base()))
            .map_err(|_| SendError::Permanent("api_url is not a valid URL".into()))?;
        if alert.event.is_resolution() {
            url.path_segments_mut()
                .map_err(|_| SendError::Permanent("api_url cannot take a path".into()))?
                .push(&Self::alias(alert))
                .push("close");
            url.set_query(Some("identifierType=alias"));
        }
        Ok(url)
    }

    /// The JSON body for `alert`: the alert to create, or the close request.
    pub fn payload(&self, alert: &Alert) -> Value {
        if alert.event.is_resolution() {
            return json!({
                "source": "NetPulse",
                "user": "NetPulse",
                "note": truncate_chars(&alert.summary, 25000),
            });
        }
        let mut details = BTreeMap::new();
        details.insert("event".to_string(), alert.event.as_str().to_string());
        details.insert("idempotency_key".into(), alert.idempotency_key.clone());
        if let Some(m) = &alert.monitor {
            details.insert("monitor_id".into(), m.id.clone());
            details.insert("target".into(), m.target.clone());
        }
        if let Some(i) = &alert.incident {
            details.insert("incident_id".into(), i.id.clone());
            details.insert("started_at".into(), i.started_at.clone());
        }
        for r in &alert.regions {
            let value = match &r.detail {
                Some(d) if !d.is_empty() => format!("{} ({d})", r.vote.as_str()),
                _ => r.vote.as_str().to_string(),
            };
            details.insert(format!("region.{}", r.region), value);
        }
        let priority = if alert.event == AlertEvent::Test {
            Some("P5")
        } else {
            self.priority.as_deref()
        };
        let mut body = json!({
            "message": truncate_chars(&alert.summary, MESSAGE_MAX),
            "alias": Self::alias(alert),
            "description": truncate_chars(&alert.text(), DESCRIPTION_MAX),
            "source": "NetPulse",
            "tags": ["netpulse", alert.event.as_str()],
            "details": details,
        });
        if let Some(m) = &alert.monitor {
            body["entity"] = json!(truncate_chars(&m.name, 512));
        }
        if let Some(p) = priority {
            body["priority"] = json!(p);
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::ChannelConfig;

    #[test]
    fn validation_names_fields() {
        let cases = [
            (json!({}), "config.api_key"),
            (json!({"api_key": "has space"}), "config.api_key"),
            (json!({"api_key": "k", "priority": "P9"}), "config.priority"),
            (
                json!({"api_key": "k", "api_url": "https://x/?a=b"}),
                "config.api_url",
            ),
        ];
        for (config, field) in cases {
            let e = ChannelConfig::parse("opsgenie", &config).unwrap_err();
            assert_eq!(e.field, field, "{config}: {e}");
        }
    }

    #[test]
    fn close_path_encodes_the_alias() {
        let Ok(ChannelConfig::Opsgenie(c)) = ChannelConfig::parse(
            "opsgenie",
            &json!({"api_key": "k", "api_url": "https://api.eu.opsgenie.com/"}),
        ) else {
            panic!()
        };
        let up = Alert::new(AlertEvent::MonitorUp, "k", "up", 0).with_incident(
            "inc/1 a",
            0,
            Some(0),
            false,
        );
        assert_eq!(
            c.endpoint(&up).unwrap().as_str(),
            "https://api.eu.opsgenie.com/v2/alerts/inc%2F1%20a/close?identifierType=alias"
        );
        let down = Alert::new(AlertEvent::MonitorDown, "k", "down", 0);
        assert_eq!(
            c.endpoint(&down).unwrap().as_str(),
            "https://api.eu.opsgenie.com/v2/alerts"
        );
        assert_eq!(c.payload(&down)["alias"], "k");
    }
}
