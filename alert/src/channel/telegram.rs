//! Telegram: a plain-text message through the Bot API's `sendMessage`.
//!
//! The bot token is part of the request path (`/bot<token>/sendMessage`), so it is validated
//! strictly (digits, `:`, URL-safe characters) and never appears in errors: reqwest errors are
//! stripped of their URL and the token is scrubbed from response excerpts. Text is sent without
//! `parse_mode`, so names containing `*` or `<` need no escaping.

use std::net::SocketAddr;

use serde::Serialize;
use serde_json::{json, Value};

use super::fields::{base_url, field_error};
use super::{
    http, redacted_debug, truncate_chars, Channel, ChannelConfigError, Example, Fields, SendError,
    Transport,
};
use crate::message::Alert;

/// The public Bot API.
pub const DEFAULT_API_URL: &str = "https://api.telegram.org";
/// Telegram's limit for one message.
const TEXT_MAX: usize = 4096;

/// Configuration of a Telegram bot message.
#[derive(Clone, PartialEq, Serialize)]
pub struct TelegramConfig {
    /// The token from @BotFather, `<bot id>:<secret>`.
    pub bot_token: String,
    /// A user, group or channel id (`-100…`) or a `@channelusername`.
    pub chat_id: String,
    /// Bot API base URL (a self-hosted Bot API server or a test receiver);
    /// default [`DEFAULT_API_URL`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
}

redacted_debug!(TelegramConfig);

impl Channel for TelegramConfig {
    const SECRET_FIELDS: &'static [&'static str] = &["bot_token"];

    fn parse(f: &mut Fields) -> Result<Self, ChannelConfigError> {
        let bot_token = f.string("bot_token")?;
        let valid_token = bot_token.split_once(':').is_some_and(|(id, secret)| {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit())
                && !secret.is_empty()
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
        if !valid_token {
            return Err(field_error(
                "bot_token",
                "must look like 123456789:AAE... (the token from @BotFather)",
            ));
        }
        let chat_id = f.string_or_int("chat_id")?;
        let valid_chat = match chat_id.strip_prefix('@') {
            Some(name) => {
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            }
            None => {
                let digits = chat_id.strip_prefix('-').unwrap_or(&chat_id);
                !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
            }
        };
        if !valid_chat {
            return Err(field_error(
                "chat_id",
                "must be a numeric chat id or @channelusername",
            ));
        }
        let api_url = base_url("api_url", f.opt_string("api_url")?)?;
        Ok(Self {
            bot_token,
            chat_id,
            api_url,
        })
    }

    async fn send(&self, client: &reqwest::Client, alert: &Alert) -> Result<(), SendError> {
        let request = client.post(self.endpoint()).json(&self.payload(alert));
        http::execute(request, &self.secrets()).await
    }

    fn example(peer: SocketAddr) -> Example {
        Example {
            config: json!({
                "bot_token": "123456:tgSECRET_token-5a7e",
                "chat_id": -1001234,
                "api_url": format!("http://{peer}"),
            }),
            transport: Transport::Http,
            secrets: &["123456:tgSECRET_token-5a7e"],
        }
    }
}

impl TelegramConfig {
    /// `{api_url}/bot{token}/sendMessage`.
    pub fn endpoint(&self) -> String {
        format!(
            "{}/bot{}/sendMessage",
            self.api_url.as_deref().unwrap_or(DEFAULT_API_URL),
            self.bot_token
        )
    }

    /// The `sendMessage` body.
    pub fn payload(&self, alert: &Alert) -> Value {
        json!({
            "chat_id": self.chat_id,
            "text": truncate_chars(&alert.text(), TEXT_MAX),
            "disable_web_page_preview": true,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::channel::ChannelConfig;
    use serde_json::json;

    #[test]
    fn validation_names_fields() {
        let cases = [
            (json!({"chat_id": 1}), "config.bot_token"),
            (
                json!({"bot_token": "abc", "chat_id": 1}),
                "config.bot_token",
            ),
            (
                json!({"bot_token": "1:a/b", "chat_id": 1}),
                "config.bot_token",
            ),
            (json!({"bot_token": "1:ab"}), "config.chat_id"),
            (
                json!({"bot_token": "1:ab", "chat_id": 1.5}),
                "config.chat_id",
            ),
            (
                json!({"bot_token": "1:ab", "chat_id": "x y"}),
                "config.chat_id",
            ),
            (
                json!({"bot_token": "1:ab", "chat_id": 1, "api_url": "nope"}),
                "config.api_url",
            ),
        ];
        for (config, field) in cases {
            let e = ChannelConfig::parse("telegram", &config).unwrap_err();
            assert_eq!(e.field, field, "{config}: {e}");
        }
        for chat in [json!(-100123), json!("-100123"), json!("@ops_alerts")] {
            ChannelConfig::parse("telegram", &json!({"bot_token": "1:ab", "chat_id": chat}))
                .unwrap();
        }
    }
}
