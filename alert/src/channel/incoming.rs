//! Chat services reached through an incoming-webhook URL (Slack, Discord, Teams): the URL is
//! the whole configuration and also the credential, so it is redacted to scheme and host. The
//! services differ only in the message they accept, so one generic [`IncomingWebhook`] serves
//! them all and each module supplies a `Format` (its `payload`).

use std::fmt;
use std::marker::PhantomData;
use std::net::SocketAddr;

use serde::Serialize;
use serde_json::{json, Value};

use super::fields::http_url;
use super::{http, Channel, ChannelConfigError, Example, Fields, SendError, Transport};
use crate::message::Alert;

/// The message format of one incoming-webhook service.
pub(crate) trait Format: 'static {
    /// The JSON body posted for `alert`.
    fn payload(alert: &Alert) -> Value;
    /// The path of [`Channel::example`]'s URL, as the service shapes it; it holds
    /// [`Format::EXAMPLE_SECRETS`].
    const EXAMPLE_PATH: &'static str;
    /// The credential parts of [`Format::EXAMPLE_PATH`].
    const EXAMPLE_SECRETS: &'static [&'static str];
}

/// Configuration of an incoming webhook; `F` is the service (`slack::Slack`, ...), which picks
/// the message format and keeps each service a type of its own.
#[derive(Serialize)]
#[serde(bound = "")]
pub struct IncomingWebhook<F> {
    /// The webhook URL (any http(s) URL is accepted, for compatible servers and tests).
    pub webhook_url: String,
    #[serde(skip)]
    format: PhantomData<fn() -> F>,
}

impl<F> IncomingWebhook<F> {
    /// A configuration for `webhook_url`, unchecked (use `ChannelConfig::parse` for input).
    pub fn new(webhook_url: impl Into<String>) -> Self {
        Self {
            webhook_url: webhook_url.into(),
            format: PhantomData,
        }
    }
}

// Written out rather than derived: derives would require `F` itself to be `Clone` etc.
impl<F> Clone for IncomingWebhook<F> {
    fn clone(&self) -> Self {
        Self::new(self.webhook_url.clone())
    }
}

impl<F> PartialEq for IncomingWebhook<F> {
    fn eq(&self, other: &Self) -> bool {
        self.webhook_url == other.webhook_url
    }
}

impl<F> fmt::Debug for IncomingWebhook<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IncomingWebhook({})",
            json!({"webhook_url": super::redact_url_path(&self.webhook_url)})
        )
    }
}

impl<F: Format> Channel for IncomingWebhook<F> {
    const SECRET_FIELDS: &'static [&'static str] = &["webhook_url"];

    fn parse(f: &mut Fields) -> Result<Self, ChannelConfigError> {
        let webhook_url = f.string("webhook_url")?;
        http_url("webhook_url", &webhook_url)?;
        Ok(Self::new(webhook_url))
    }

    /// The URL's path is the credential: only scheme, host and port stay.
    fn redacted(&self) -> Value {
        json!({"webhook_url": super::redact_url_path(&self.webhook_url)})
    }

    /// The URL, then its path and query on their own: the path is the credential, and a server
    /// echoing its request line shows the path without scheme and host.
    fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![self.webhook_url.clone()];
        if let Ok(url) = reqwest::Url::parse(&self.webhook_url) {
            secrets.push(url.path().to_string());
            secrets.extend(url.query().map(String::from));
        }
        secrets
    }

    /// Posts the service's payload as JSON.
    async fn send(&self, client: &reqwest::Client, alert: &Alert) -> Result<(), SendError> {
        let request = client.post(&self.webhook_url).json(&F::payload(alert));
        http::execute(request, &self.secrets()).await
    }

    fn example(peer: SocketAddr) -> Example {
        Example {
            config: json!({"webhook_url": format!("http://{peer}{}", F::EXAMPLE_PATH)}),
            transport: Transport::Http,
            secrets: F::EXAMPLE_SECRETS,
        }
    }
}
