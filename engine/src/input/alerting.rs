//! The alerting fields of a monitor body: `confirm`, `recover`, `quorum`, `alert_channels`,
//! `tags`, `renotify_s`, `escalation`, `notify_degraded`, `tls_expiry_warn_days`,
//! `flap_threshold`, `flap_window_s`.

use serde::Deserialize;

use super::InputError;
use crate::alerting::{AlertSettings, EscalationStep};
use crate::decide::quorum::Quorum;

/// Most channels a monitor (or an escalation step) may name.
const MAX_CHANNELS: usize = 32;
/// Most tags per monitor.
const MAX_TAGS: usize = 32;
/// Most escalation steps.
const MAX_STEPS: usize = 10;

/// An escalation step as submitted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    after_s: u32,
    channels: Vec<String>,
}

/// The alerting part of a monitor body, the same for every kind.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AlertInput {
    pub(super) confirm: Option<u32>,
    pub(super) recover: Option<u32>,
    pub(super) quorum: Option<serde_json::Value>,
    pub(super) alert_channels: Option<Vec<String>>,
    pub(super) tags: Option<Vec<String>>,
    pub(super) renotify_s: Option<u32>,
    pub(super) escalation: Option<Vec<StepInput>>,
    pub(super) notify_degraded: Option<bool>,
    pub(super) tls_expiry_warn_days: Option<u32>,
    pub(super) flap_threshold: Option<u32>,
    pub(super) flap_window_s: Option<u32>,
}

/// Whether `id` looks like a channel id (`ch_` + hex).
fn channel_id_ok(id: &str) -> bool {
    id.len() <= 40
        && id
            .strip_prefix("ch_")
            .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn channels(field: &str, ids: Vec<String>) -> Result<Vec<String>, InputError> {
    if ids.len() > MAX_CHANNELS {
        return Err(InputError::invalid_field(
            field,
            format!("at most {MAX_CHANNELS} channels"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        if !channel_id_ok(&id) {
            return Err(InputError::invalid_field(
                field,
                format!("{id:?} is not a channel id (ch_...)"),
            ));
        }
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// Whether `t` is a usable tag: 1-64 chars of `[a-z0-9_.-]`.
pub fn valid_tag(t: &str) -> bool {
    (1..=64).contains(&t.len())
        && t.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        })
}

/// Validates tags for monitors, channels and maintenance windows.
pub fn tags(field: &str, tags: Vec<String>) -> Result<Vec<String>, InputError> {
    if tags.len() > MAX_TAGS {
        return Err(InputError::invalid_field(
            field,
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for t in tags {
        if !valid_tag(&t) {
            return Err(InputError::invalid_field(
                field,
                format!("{t:?} is not a tag ([a-z0-9_.-], 1-64 chars)"),
            ));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

impl AlertInput {
    /// Checks every field; absent fields take their defaults.
    pub fn validate(self) -> Result<AlertSettings, InputError> {
        let d = AlertSettings::default();
        let confirm = self.confirm.unwrap_or(d.confirm);
        if !(1..=100).contains(&confirm) {
            return Err(InputError::invalid_field(
                "confirm",
                "must be between 1 and 100",
            ));
        }
        let recover = self.recover.unwrap_or(d.recover);
        if !(1..=100).contains(&recover) {
            return Err(InputError::invalid_field(
                "recover",
                "must be between 1 and 100",
            ));
        }
        let quorum = match &self.quorum {
            None => d.quorum,
            Some(v) => Quorum::parse(v).map_err(|e| InputError::invalid_field("quorum", e))?,
        };
        let renotify_s = self.renotify_s.unwrap_or(0);
        if renotify_s != 0 && !(60..=7 * 86_400).contains(&renotify_s) {
            return Err(InputError::invalid_field(
                "renotify_s",
                "must be 0 (off) or between 60 and 604800",
            ));
        }
        let mut escalation = Vec::new();
        let steps = self.escalation.unwrap_or_default();
        if steps.len() > MAX_STEPS {
            return Err(InputError::invalid_field(
                "escalation",
                format!("at most {MAX_STEPS} steps"),
            ));
        }
        for (i, s) in steps.into_iter().enumerate() {
            let field = format!("escalation[{i}]");
            if !(1..=30 * 86_400).contains(&s.after_s) {
                return Err(InputError::invalid_field(
                    &format!("{field}.after_s"),
                    "must be between 1 and 2592000",
                ));
            }
            if escalation
                .last()
                .is_some_and(|p: &EscalationStep| p.after_s >= s.after_s)
            {
                return Err(InputError::invalid_field(
                    &format!("{field}.after_s"),
                    "steps must come in increasing after_s order",
                ));
            }
            let channels = channels(&format!("{field}.channels"), s.channels)?;
            if channels.is_empty() {
                return Err(InputError::invalid_field(
                    &format!("{field}.channels"),
                    "name at least one channel",
                ));
            }
            escalation.push(EscalationStep {
                after_s: s.after_s,
                channels,
            });
        }
        if let Some(days) = self.tls_expiry_warn_days {
            if !(1..=365).contains(&days) {
                return Err(InputError::invalid_field(
                    "tls_expiry_warn_days",
                    "must be between 1 and 365",
                ));
            }
        }
        let flap_threshold = self.flap_threshold.unwrap_or(d.flap_threshold);
        if flap_threshold > 1000 {
            return Err(InputError::invalid_field(
                "flap_threshold",
                "must be between 0 (off) and 1000",
            ));
        }
        let flap_window_s = self.flap_window_s.unwrap_or(d.flap_window_s);
        if !(60..=86_400).contains(&flap_window_s) {
            return Err(InputError::invalid_field(
                "flap_window_s",
                "must be between 60 and 86400",
            ));
        }
        Ok(AlertSettings {
            confirm,
            recover,
            quorum,
            channels: channels("alert_channels", self.alert_channels.unwrap_or_default())?,
            tags: tags("tags", self.tags.unwrap_or_default())?,
            renotify_s,
            escalation,
            notify_degraded: self.notify_degraded.unwrap_or(false),
            tls_expiry_warn_days: self.tls_expiry_warn_days,
            flap_threshold,
            flap_window_s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(v: serde_json::Value) -> AlertInput {
        serde_json::from_value(v).expect("shape")
    }

    #[test]
    fn defaults_when_absent() {
        let s = AlertInput::default().validate().expect("valid");
        assert_eq!(s, AlertSettings::default());
    }

    #[test]
    fn refusals_name_the_field() {
        for (body, field) in [
            (serde_json::json!({"confirm": 0}), "confirm"),
            (serde_json::json!({"recover": 101}), "recover"),
            (serde_json::json!({"quorum": "150%"}), "quorum"),
            (serde_json::json!({"quorum": 0}), "quorum"),
            (
                serde_json::json!({"alert_channels": ["slack"]}),
                "alert_channels",
            ),
            (serde_json::json!({"tags": ["Has Space"]}), "tags"),
            (serde_json::json!({"renotify_s": 5}), "renotify_s"),
            (
                serde_json::json!({"escalation": [{"after_s": 60, "channels": []}]}),
                "escalation[0].channels",
            ),
            (
                serde_json::json!({"escalation": [
                    {"after_s": 600, "channels": ["ch_ab"]},
                    {"after_s": 60, "channels": ["ch_ab"]}
                ]}),
                "escalation[1].after_s",
            ),
        ] {
            let err = input(body.clone()).validate().expect_err("invalid");
            assert_eq!(err.field(), Some(field), "{body}");
        }
    }

    #[test]
    fn accepts_a_full_body() {
        let s = input(serde_json::json!({
            "confirm": 3, "recover": 2, "quorum": "60%",
            "alert_channels": ["ch_0a", "ch_0a"], "tags": ["db", "prod"],
            "renotify_s": 600, "escalation": [{"after_s": 900, "channels": ["ch_ff"]}],
            "notify_degraded": true, "tls_expiry_warn_days": 14
        }))
        .validate()
        .expect("valid");
        assert_eq!(s.quorum, Quorum::Percent(60));
        assert_eq!(s.channels, vec!["ch_0a".to_owned()], "deduplicated");
        assert_eq!(s.escalation.len(), 1);
    }
}
