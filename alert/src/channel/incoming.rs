//! Chat services reached through an incoming-webhook URL (Slack, Discord, Teams): the URL is
//! the whole configuration and also the credential, so it is redacted to scheme and host. The
//! services differ only in the message they accept (each module's `payload`).

use serde::Serialize;
use serde_json::{json, Value};

use super::fields::http_url;
use super::{http, redacted_debug, ChannelConfigError, Fields, SendError};

/// Configuration of an incoming webhook.
#[derive(Clone, PartialEq, Serialize)]
pub struct IncomingWebhook {
    /// The webhook URL (any http(s) URL is accepted, for compatible servers and tests).
    pub webhook_url: String,
}

redacted_debug!(IncomingWebhook);

impl IncomingWebhook {
    pub(crate) fn parse(f: &mut Fields) -> Result<Self, ChannelConfigError> {
        let webhook_url = f.string("webhook_url")?;
        http_url("webhook_url", &webhook_url)?;
        Ok(Self { webhook_url })
    }

    pub(crate) fn redacted(&self) -> Value {
        json!({"webhook_url": super::redact_url_path(&self.webhook_url)})
    }

    /// Posts `body` as JSON.
    pub(crate) async fn post(
        &self,
        client: &reqwest::Client,
        body: &Value,
    ) -> Result<(), SendError> {
        let request = client.post(&self.webhook_url).json(body);
        http::execute(request, &[&self.webhook_url]).await
    }
}
