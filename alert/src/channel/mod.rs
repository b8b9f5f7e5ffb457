//! Alert channels: configuration, validation, redaction and delivery.
//!
//! Each channel type lives in its own module, which holds its configuration struct (the
//! validated form of the API's `config` object), its message rendering and its delivery:
//!
//! | kind | module | transport |
//! |---|---|---|
//! | `webhook` | [`webhook`] | HTTP POST of the [`Alert`] JSON, HMAC-signed |
//! | `slack` | [`slack`] | Slack incoming webhook (Block Kit) |
//! | `discord` | [`discord`] | Discord webhook (embed) |
//! | `telegram` | [`telegram`] | Bot API `sendMessage` |
//! | `teams` | [`teams`] | Teams / Power Automate webhook (Adaptive Card) |
//! | `pagerduty` | [`pagerduty`] | Events API v2 (trigger / resolve) |
//! | `opsgenie` | [`opsgenie`] | Alert API v2 (create / close) |
//! | `email` | [`email`] | SMTP through lettre (none, STARTTLS or implicit TLS) |
//! | `twilio` | [`twilio`] | Twilio Messages API (SMS) |
//!
//! [`ChannelConfig`] ties them together: [`ChannelConfig::parse`] validates the API input and
//! names the offending field, [`ChannelConfig::redacted`] is what the API shows back, and
//! [`Sender::send`] delivers one [`Alert`] and classifies failures as
//! [`SendError::Retryable`] or [`SendError::Permanent`] so the coordinator knows whether to try
//! again. This module never retries itself: retry policy, backoff and deduplication belong to
//! the caller, which also owns the idempotency key that makes retries safe for receivers.
//!
//! # Adding a channel
//!
//! A channel is one module plus one line in the `channels!` registration list in this file,
//! e.g. `"pagerduty" => PagerDuty(pagerduty::PagerDutyConfig),`. The module's configuration
//! struct implements the crate-private `Channel` trait:
//!
//! - `parse` reads the API's `config` object through `Fields`, which names the bad field in
//!   every error and lets [`ChannelConfig::parse`] refuse the fields nobody read;
//! - `SECRET_FIELDS` lists the credential fields: the default `redacted` masks them and the
//!   default `secrets` scrubs their values from every [`SendError`] (override both when a
//!   secret hides inside a field that must stay readable, like a webhook URL's path);
//! - `send` delivers once within [`SEND_TIMEOUT`], classifying failures as
//!   [`SendError::Retryable`] or [`SendError::Permanent`];
//! - `example` returns an [`Example`]: a working configuration pointed at a local peer, with
//!   distinctive secrets.
//!
//! The registration line generates the [`ChannelConfig`] variant, its entry in
//! [`ChannelConfig::KINDS`], and every dispatch (parse, kind, redact, serialize, seal, send,
//! example). The shared compliance test (`alert/tests/compliance.rs`) walks `KINDS`, so the new
//! channel is checked for field-naming errors, redaction, sealing, error classification,
//! timeouts and secret-free errors with no further edit. The full recipe is
//! `docs/adding-an-alert-channel.md`.

pub mod discord;
pub mod email;
pub mod incoming;
pub mod opsgenie;
pub mod pagerduty;
pub mod slack;
pub mod teams;
pub mod telegram;
pub mod twilio;
pub mod webhook;

mod fields;
mod http;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::crypto::{CryptoError, SecretKey};
use crate::message::Alert;

pub(crate) use fields::Fields;

/// What secrets are replaced with in [`ChannelConfig::redacted`].
pub const REDACTED: &str = "********";

/// How long one delivery may take, connection included. Long enough for a slow API, short
/// enough that a dead endpoint does not hold the coordinator's alert queue.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The registration list: one line per channel type, `"kind" => Variant(module::Config)`.
///
/// The string is the `type` in the API and in stored configurations (never rename one: sealed
/// configurations in the replicated state carry it); the variant names the [`ChannelConfig`]
/// case; the type implements [`Channel`]. The order is the order of [`ChannelConfig::KINDS`].
macro_rules! channels {
    ($( $(#[$doc:meta])* $kind:literal => $variant:ident($config:ty), )+) => {
        /// A validated channel configuration, one variant per channel type.
        ///
        /// Serializes as `{"type": "<kind>", "config": {...}}` with secrets in clear (for sealing
        /// with [`ChannelConfig::to_sealed`]); deserializing runs [`ChannelConfig::parse`], so
        /// every value of this type is valid. `Debug` shows the redacted form only.
        #[derive(Clone, PartialEq)]
        pub enum ChannelConfig {
            $( $(#[$doc])* $variant($config), )+
        }

        impl ChannelConfig {
            /// Every channel type name accepted by [`ChannelConfig::parse`].
            pub const KINDS: &'static [&'static str] = &[$($kind),+];

            /// The channel type name (one of [`ChannelConfig::KINDS`]).
            pub fn kind(&self) -> &'static str {
                match self {
                    $(ChannelConfig::$variant(_) => $kind,)+
                }
            }

            /// Reads a `kind` configuration from `f`; `None` when no channel has that name.
            fn parse_kind(
                kind: &str,
                f: &mut Fields<'_>,
            ) -> Option<Result<Self, ChannelConfigError>> {
                match kind {
                    $($kind => Some(<$config as Channel>::parse(f).map(ChannelConfig::$variant)),)+
                    _ => None,
                }
            }

            /// A working `kind` configuration that delivers to `peer` (an HTTP server or an SMTP
            /// server, as [`Example::transport`] says), with distinctive secrets. It documents
            /// each channel and drives the shared compliance test (`alert/tests/compliance.rs`),
            /// which thereby covers every registered channel. `None` for an unknown kind.
            pub fn example(kind: &str, peer: SocketAddr) -> Option<Example> {
                match kind {
                    $($kind => Some(<$config as Channel>::example(peer)),)+
                    _ => None,
                }
            }

            /// The configuration as a [`Channel`], for everything that does not depend on the
            /// concrete type.
            fn channel(&self) -> &dyn DynChannel {
                match self {
                    $(ChannelConfig::$variant(c) => c,)+
                }
            }
        }

        impl Serialize for ChannelConfig {
            /// The adjacently tagged form `{"type": ..., "config": ...}`, with `config` in the
            /// struct's own field order (what `#[serde(tag, content)]` wrote before).
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut s = serializer.serialize_struct("ChannelConfig", 2)?;
                s.serialize_field("type", self.kind())?;
                match self {
                    $(ChannelConfig::$variant(c) => s.serialize_field("config", c)?,)+
                }
                s.end()
            }
        }
    };
}

channels! {
    /// Generic signed JSON webhook.
    "webhook" => Webhook(webhook::WebhookConfig),
    /// Slack incoming webhook.
    "slack" => Slack(slack::SlackConfig),
    /// Discord webhook.
    "discord" => Discord(discord::DiscordConfig),
    /// Telegram bot message.
    "telegram" => Telegram(telegram::TelegramConfig),
    /// Microsoft Teams webhook.
    "teams" => Teams(teams::TeamsConfig),
    /// PagerDuty Events API v2.
    "pagerduty" => PagerDuty(pagerduty::PagerDutyConfig),
    /// Opsgenie Alert API.
    "opsgenie" => Opsgenie(opsgenie::OpsgenieConfig),
    /// E-mail over SMTP.
    "email" => Email(email::EmailConfig),
    /// SMS through Twilio.
    "twilio" => Twilio(twilio::TwilioConfig),
}

/// What a channel module implements; registering the type in `channels!` does the rest.
///
/// The trait is crate-private: channels are added here, next to the shared validation and
/// delivery helpers, and the rest of NetPulse only sees [`ChannelConfig`].
pub(crate) trait Channel:
    Clone + PartialEq + Serialize + fmt::Debug + Send + Sync + 'static
{
    /// Top-level `config` fields that hold credentials. The default [`Channel::redacted`]
    /// masks them and the default [`Channel::secrets`] scrubs their values from every
    /// [`SendError`].
    const SECRET_FIELDS: &'static [&'static str];

    /// Reads the configuration from the API's `config` object.
    ///
    /// Read every field through `f` (which prefixes errors with `config.` and remembers what was
    /// read); the caller then rejects fields nobody read, so a misspelt option is an error.
    /// Name the field in every other error with `fields::field_error`.
    fn parse(f: &mut Fields<'_>) -> Result<Self, ChannelConfigError>;

    /// The `config` object as the API shows it: [`Channel::SECRET_FIELDS`] replaced by
    /// [`REDACTED`]. Override when a secret hides inside a field that must stay recognisable
    /// (a URL whose path or query is the credential).
    fn redacted(&self) -> Value {
        redact_fields(
            serde_json::to_value(self).unwrap_or(Value::Null),
            Self::SECRET_FIELDS,
        )
    }

    /// Every credential value, scrubbed from error messages (a service may echo a token in its
    /// error body). The default takes the string values of [`Channel::SECRET_FIELDS`].
    fn secrets(&self) -> Vec<String> {
        let json = serde_json::to_value(self).unwrap_or(Value::Null);
        Self::SECRET_FIELDS
            .iter()
            .filter_map(|name| json.get(*name).and_then(Value::as_str).map(String::from))
            .collect()
    }

    /// Delivers `alert` once, without retrying: `Ok` once the service accepted it,
    /// [`SendError::Retryable`] for what may pass later (5xx, 408, 429, timeouts, connection
    /// failures), [`SendError::Permanent`] for what needs a configuration change. Must end
    /// within [`SEND_TIMEOUT`] (plus a few seconds) whatever the peer does.
    fn send(
        &self,
        http: &reqwest::Client,
        alert: &Alert,
    ) -> impl Future<Output = Result<(), SendError>> + Send;

    /// A working configuration delivering to `peer`, whose [`Example::secrets`] appear in its
    /// secret fields. See [`ChannelConfig::example`].
    fn example(peer: SocketAddr) -> Example;
}

/// A configuration of one channel type that works against a local peer, with recognisable
/// secrets (see [`ChannelConfig::example`]).
#[derive(Debug, Clone)]
pub struct Example {
    /// The `config` object, as an API client would send it.
    pub config: Value,
    /// What kind of server `config` delivers to.
    pub transport: Transport,
    /// Every credential inside `config`, each distinctive enough that finding it in any output
    /// (redacted form, `Debug`, sealed form, error message) means it leaked.
    pub secrets: &'static [&'static str],
}

/// The protocol a channel speaks to its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTP requests (`http://` URLs in the example).
    Http,
    /// SMTP (host and port in the example).
    Smtp,
}

/// The object-safe face of [`Channel`], so `ChannelConfig` dispatches through one `match`.
trait DynChannel: Send + Sync {
    fn redacted(&self) -> Value;
    fn config_json(&self) -> Value;
    fn secrets(&self) -> Vec<String>;
    fn send<'a>(
        &'a self,
        http: &'a reqwest::Client,
        alert: &'a Alert,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;
}

impl<C: Channel> DynChannel for C {
    fn redacted(&self) -> Value {
        Channel::redacted(self)
    }

    fn config_json(&self) -> Value {
        // Plain structs of strings, numbers and lists always serialize.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn secrets(&self) -> Vec<String> {
        Channel::secrets(self)
    }

    fn send<'a>(
        &'a self,
        http: &'a reqwest::Client,
        alert: &'a Alert,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
        Box::pin(Channel::send(self, http, alert))
    }
}

impl ChannelConfig {
    /// Parses the API's `type` and `config` JSON.
    ///
    /// Errors name the field as the API client sent it, e.g.
    /// `config.url: must be an http or https URL`, so the UI can point at the input. Unknown
    /// fields are rejected (a typo must not silently drop a setting); `null` and empty strings
    /// count as absent for optional fields.
    pub fn parse(kind: &str, config: &Value) -> Result<Self, ChannelConfigError> {
        let mut f = Fields::new(config)?;
        let parsed = match Self::parse_kind(kind, &mut f) {
            Some(parsed) => parsed?,
            None => {
                return Err(ChannelConfigError::new(
                    "type",
                    format!(
                        "unknown channel type {kind:?}; expected one of {}",
                        Self::KINDS.join(", ")
                    ),
                ))
            }
        };
        f.finish()?;
        Ok(parsed)
    }

    /// Parses an edited configuration, keeping secrets the client did not change.
    ///
    /// The API shows configurations through [`ChannelConfig::redacted`], so an edit form sends
    /// back `"********"` (or a redacted URL) for secrets it did not touch. Every top-level field
    /// whose value equals the redacted form of `previous` is replaced with the previous real
    /// value before parsing. If the type changed, nothing is carried over.
    pub fn parse_update(
        kind: &str,
        config: &Value,
        previous: &ChannelConfig,
    ) -> Result<Self, ChannelConfigError> {
        if previous.kind() != kind {
            return Self::parse(kind, config);
        }
        let shown = previous.redacted();
        let real = previous.config_json();
        let mut merged = config.clone();
        if let Some(obj) = merged.as_object_mut() {
            for (name, value) in obj.iter_mut() {
                let was_redacted = shown.get(name) != real.get(name);
                if was_redacted && shown.get(name) == Some(value) {
                    if let Some(original) = real.get(name) {
                        *value = original.clone();
                    }
                }
            }
        }
        Self::parse(kind, &merged)
    }

    /// The `config` object with every secret replaced by `"********"`: signing secrets, tokens,
    /// routing and API keys, passwords, and the path of Slack/Discord/Teams webhook URLs (which
    /// *are* the credential; only scheme, host and port remain). Safe to return from the API and
    /// to log.
    pub fn redacted(&self) -> Value {
        self.channel().redacted()
    }

    /// The full `config` object, secrets included. Only for sealing and for
    /// [`ChannelConfig::parse_update`]; never show it.
    pub fn config_json(&self) -> Value {
        self.channel().config_json()
    }

    /// Seals the whole configuration (`{"type", "config"}` JSON) with `key`, for storage in the
    /// replicated state. See [`crate::crypto`].
    pub fn to_sealed(&self, key: &SecretKey) -> String {
        let json = serde_json::json!({"type": self.kind(), "config": self.config_json()});
        key.seal(json.to_string().as_bytes())
    }

    /// Opens a value made by [`ChannelConfig::to_sealed`] and validates it again.
    pub fn from_sealed(key: &SecretKey, sealed: &str) -> Result<Self, CryptoError> {
        let plain = key.open(sealed)?;
        serde_json::from_slice::<ChannelConfig>(&plain)
            .map_err(|e| CryptoError::Content(e.to_string()))
    }
}

impl fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChannelConfig::{}({})", self.kind(), self.redacted())
    }
}

impl<'de> Deserialize<'de> for ChannelConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(rename = "type")]
            kind: String,
            config: Value,
        }
        let raw = Raw::deserialize(deserializer)?;
        ChannelConfig::parse(&raw.kind, &raw.config).map_err(serde::de::Error::custom)
    }
}

/// A rejected channel configuration: which field and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ChannelConfigError {
    /// The field as the API client names it, e.g. `config.to[1]` or `type`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl ChannelConfigError {
    /// An error about `field` (given with its full path, e.g. `config.url`).
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a delivery failed, split by what the caller should do about it.
///
/// Messages describe the failure (status code, a trimmed response excerpt, the SMTP reply)
/// and never contain the request URL or credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: 5xx, 408, 429, timeouts, connection failures, SMTP 4xx.
    #[error("temporary failure: {0}")]
    Retryable(String),
    /// Trying again will not help until the configuration changes: other 4xx, redirects,
    /// SMTP 5xx, invalid configuration.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl SendError {
    /// True for [`SendError::Retryable`].
    pub fn is_retryable(&self) -> bool {
        matches!(self, SendError::Retryable(_))
    }

    /// The message without the classification prefix.
    pub fn message(&self) -> &str {
        match self {
            SendError::Retryable(m) | SendError::Permanent(m) => m,
        }
    }

    /// The same error with every secret replaced by [`REDACTED`].
    fn scrubbed<S: AsRef<str>>(self, secrets: &[S]) -> Self {
        match self {
            SendError::Retryable(m) => SendError::Retryable(http::scrub(&m, secrets)),
            SendError::Permanent(m) => SendError::Permanent(http::scrub(&m, secrets)),
        }
    }
}

/// Delivers alerts. Create one and share it: it holds the HTTP connection pool.
///
/// The HTTP client never uses a proxy from the environment (alert traffic must not silently
/// leave through `HTTPS_PROXY`), follows no redirects (a redirected POST would be replayed as
/// GET or leak the body elsewhere), never retries on its own (the caller decides), and gives
/// each request [`SEND_TIMEOUT`].
#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl Default for Sender {
    fn default() -> Self {
        Self::new()
    }
}

impl Sender {
    /// A sender with the default HTTP client.
    ///
    /// # Panics
    /// If the TLS backend cannot be initialised (the same condition in which
    /// `reqwest::Client::new` panics); use [`Sender::try_new`] to handle it.
    pub fn new() -> Self {
        match Self::try_new() {
            Ok(s) => s,
            Err(e) => panic!("cannot build the alert HTTP client: {e}"),
        }
    }

    /// Like [`Sender::new`], reporting a failure to build the HTTP client.
    pub fn try_new() -> Result<Self, SendError> {
        let http = reqwest::Client::builder()
            .user_agent(user_agent())
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .timeout(SEND_TIMEOUT)
            .connect_timeout(SEND_TIMEOUT)
            .build()
            .map_err(|e| SendError::Permanent(http::describe::<&str>(e, &[])))?;
        Ok(Self { http })
    }

    /// Delivers `alert` through the channel `cfg`.
    ///
    /// Returns once the receiving service accepted it (any 2xx; for SMTP, the relay's 250).
    /// Channels with several recipients (e-mail sends one message to all; Twilio one SMS per
    /// number) report a failure if any recipient failed.
    pub async fn send(&self, cfg: &ChannelConfig, alert: &Alert) -> Result<(), SendError> {
        let channel = cfg.channel();
        // Modules scrub what they quote already; scrubbing here again keeps the promise for
        // every channel, including messages a module builds itself.
        channel
            .send(&self.http, alert)
            .await
            .map_err(|e| e.scrubbed(&channel.secrets()))
    }
}

/// `NetPulse/<crate version>`, sent as `User-Agent` by every HTTP channel.
pub fn user_agent() -> String {
    format!("NetPulse/{}", env!("CARGO_PKG_VERSION"))
}

/// Implements `Debug` through the redacted JSON form, so a config struct can be logged safely.
macro_rules! redacted_debug {
    ($ty:ty) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(
                    f,
                    "{}({})",
                    stringify!($ty),
                    $crate::channel::Channel::redacted(self)
                )
            }
        }
    };
}
pub(crate) use redacted_debug;

/// Cuts `s` to at most `max` characters, marking the cut with an ellipsis.
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Replaces the value of each named top-level field that is present with [`REDACTED`].
pub(crate) fn redact_fields(mut value: Value, names: &[&str]) -> Value {
    if let Some(obj) = value.as_object_mut() {
        for name in names {
            if let Some(v) = obj.get_mut(*name) {
                if !v.is_null() {
                    *v = Value::String(REDACTED.into());
                }
            }
        }
    }
    value
}

/// `https://hooks.slack.com/services/T/B/X` -> `https://hooks.slack.com/********`: for URLs
/// whose path is the credential.
pub(crate) fn redact_url_path(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!("{}/{REDACTED}", u.origin().ascii_serialization()),
        Err(_) => REDACTED.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_type_and_non_object() {
        let e = ChannelConfig::parse("carrier-pigeon", &json!({})).unwrap_err();
        assert_eq!(e.field, "type");
        let e = ChannelConfig::parse("webhook", &json!("x")).unwrap_err();
        assert_eq!(e.field, "config");
        assert_eq!(e.to_string(), "config: must be a JSON object");
    }

    #[test]
    fn unknown_field_is_named() {
        let e = ChannelConfig::parse(
            "slack",
            &json!({"webhook_url": "https://hooks.slack.com/services/x", "channel": "#ops"}),
        )
        .unwrap_err();
        assert_eq!(e.field, "config.channel");
    }

    #[test]
    fn kinds_cover_every_variant() {
        // `channels!` generates KINDS and the variants from one list, so they cannot drift
        // apart; what must hold is that no stored type is ever dropped from it.
        for stored in [
            "webhook",
            "slack",
            "discord",
            "telegram",
            "teams",
            "pagerduty",
            "opsgenie",
            "email",
            "twilio",
        ] {
            assert!(ChannelConfig::KINDS.contains(&stored), "{stored}");
        }
        for cfg in testdata::all_configs() {
            assert!(ChannelConfig::KINDS.contains(&cfg.kind()));
        }
        let kinds: std::collections::BTreeSet<_> =
            testdata::all_configs().iter().map(|c| c.kind()).collect();
        assert_eq!(kinds.len(), ChannelConfig::KINDS.len());
    }

    #[test]
    fn redacted_hides_every_secret_and_debug_uses_it() {
        for cfg in testdata::all_configs() {
            let shown = cfg.redacted().to_string();
            let debug = format!("{cfg:?}");
            for secret in testdata::SECRETS {
                assert!(!shown.contains(secret), "{}: {shown}", cfg.kind());
                assert!(!debug.contains(secret), "{}: {debug}", cfg.kind());
            }
            assert!(shown.contains(REDACTED), "{}: {shown}", cfg.kind());
        }
    }

    #[test]
    fn serde_round_trip_validates() {
        for cfg in testdata::all_configs() {
            let json = serde_json::to_value(&cfg).unwrap();
            assert_eq!(json["type"], cfg.kind());
            let back: ChannelConfig = serde_json::from_value(json).unwrap();
            assert_eq!(back, cfg);
        }
        let bad = json!({"type": "webhook", "config": {"url": "ftp://x"}});
        let err = serde_json::from_value::<ChannelConfig>(bad).unwrap_err();
        assert!(err.to_string().contains("config.url"), "{err}");
    }

    #[test]
    fn sealed_round_trip() {
        let key = SecretKey::generate();
        for cfg in testdata::all_configs() {
            let sealed = cfg.to_sealed(&key);
            for secret in testdata::SECRETS {
                assert!(!sealed.contains(secret));
            }
            assert_eq!(ChannelConfig::from_sealed(&key, &sealed).unwrap(), cfg);
        }
        let sealed = testdata::all_configs()[0].to_sealed(&key);
        assert!(ChannelConfig::from_sealed(&SecretKey::generate(), &sealed).is_err());
    }

    #[test]
    fn parse_update_keeps_unchanged_secrets() {
        for cfg in testdata::all_configs() {
            // Sending back exactly what the API showed reproduces the original.
            let again = ChannelConfig::parse_update(cfg.kind(), &cfg.redacted(), &cfg).unwrap();
            assert_eq!(again, cfg, "{}", cfg.kind());
        }
        // A changed secret is taken.
        let prev = ChannelConfig::parse(
            "webhook",
            &json!({"url": "https://example.com/hook", "secret": "0123456789abcdef-old"}),
        )
        .unwrap();
        let new = ChannelConfig::parse_update(
            "webhook",
            &json!({"url": "https://example.com/hook", "secret": "0123456789abcdef-new"}),
            &prev,
        )
        .unwrap();
        match new {
            ChannelConfig::Webhook(w) => {
                assert_eq!(w.secret.as_deref(), Some("0123456789abcdef-new"))
            }
            other => panic!("{other:?}"),
        }
        // A literal "********" for a field that was not secret is parsed as given.
        let err =
            ChannelConfig::parse_update("webhook", &json!({"url": REDACTED}), &prev).unwrap_err();
        assert_eq!(err.field, "config.url");
    }

    /// The coordinator sends from spawned tasks, so the dispatching future must stay `Send`
    /// (the boxed `DynChannel::send` promises it; this keeps the promise checked).
    #[test]
    fn send_future_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let sender = Sender::new();
        let cfg = testdata::all_configs().remove(0);
        let alert = Alert::test("k", 0);
        assert_send(&sender.send(&cfg, &alert));
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abcd", 3), "ab…");
        assert_eq!(truncate_chars("ééé", 2), "é…");
    }
}

/// Sample configurations with recognisable secrets, shared by the unit tests of every module.
#[cfg(test)]
pub(crate) mod testdata {
    use super::ChannelConfig;
    use serde_json::json;

    /// Every secret used in [`all_configs`]; none may appear in redacted output.
    pub const SECRETS: &[&str] = &[
        "whsecret-0123456789",
        "T000/B000/slacksecret",
        "discordsecret",
        "123456:tgSECRET_token",
        "teamssecret",
        "pdroutingkey0123456789abcdefghij",
        "og-key-0000-secret",
        "smtp-password-secret",
        "twilio-auth-token-secret",
        "querytoken",
        "urlpassword",
    ];

    /// One configuration per kind: the hand-written samples below (whose secrets are
    /// [`SECRETS`]), then the [`ChannelConfig::example`] of any kind registered later, which
    /// the compliance test checks against its own secrets.
    pub fn all_configs() -> Vec<ChannelConfig> {
        let parse = |k: &str, v: serde_json::Value| match ChannelConfig::parse(k, &v) {
            Ok(c) => c,
            Err(e) => panic!("{k}: {e}"),
        };
        let mut configs = samples(parse);
        for kind in ChannelConfig::KINDS {
            if !configs.iter().any(|c| c.kind() == *kind) {
                let peer = std::net::SocketAddr::from(([127, 0, 0, 1], 9));
                if let Some(example) = ChannelConfig::example(kind, peer) {
                    configs.push(parse(kind, example.config));
                }
            }
        }
        configs
    }

    fn samples(parse: impl Fn(&str, serde_json::Value) -> ChannelConfig) -> Vec<ChannelConfig> {
        vec![
            parse(
                "webhook",
                json!({"url": "https://user:urlpassword@example.com/hook?token=querytoken",
                       "secret": "whsecret-0123456789"}),
            ),
            parse(
                "slack",
                json!({"webhook_url": "https://hooks.slack.com/services/T000/B000/slacksecret"}),
            ),
            parse(
                "discord",
                json!({"webhook_url": "https://discord.com/api/webhooks/1/discordsecret"}),
            ),
            parse(
                "telegram",
                json!({"bot_token": "123456:tgSECRET_token", "chat_id": -1001234}),
            ),
            parse(
                "teams",
                json!({"webhook_url": "https://example.webhook.office.com/webhookb2/teamssecret"}),
            ),
            parse(
                "pagerduty",
                json!({"routing_key": "pdroutingkey0123456789abcdefghij"}),
            ),
            parse(
                "opsgenie",
                json!({"api_key": "og-key-0000-secret", "priority": "P2"}),
            ),
            parse(
                "email",
                json!({"host": "smtp.example.com", "port": 587, "tls": "starttls",
                       "from": "NetPulse <alerts@example.com>", "to": ["ops@example.com"],
                       "username": "alerts", "password": "smtp-password-secret"}),
            ),
            parse(
                "twilio",
                json!({"account_sid": "AC0123456789abcdef0123456789abcdef",
                       "auth_token": "twilio-auth-token-secret",
                       "from": "+15005550006", "to": ["+14155550100"]}),
            ),
        ]
    }
}
