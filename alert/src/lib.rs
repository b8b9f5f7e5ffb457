//! NetPulse alert channels: what an alert says, where it can go, and how it gets there.
//!
//! The coordinator decides *when* to alert (incident opened, reminder due, escalation step,
//! recovery); this crate knows nothing about Raft, sled or incidents' state machine. It is
//! handed a channel configuration and an [`Alert`] and delivers it.
//!
//! # Layout
//!
//! - [`message`]: [`Alert`], the channel-independent content of one notification, and
//!   [`AlertEvent`], why it is sent. `Alert`'s JSON form is the generic webhook body.
//! - [`channel`]: one module per channel type (`webhook`, `slack`, `discord`, `telegram`,
//!   `teams`, `pagerduty`, `opsgenie`, `email`, `twilio`), each with its configuration struct,
//!   validation and message format, and registered by one line in one list, which generates
//!   [`ChannelConfig`] and its dispatch (see `docs/adding-an-alert-channel.md`).
//!   [`ChannelConfig`] parses the API's `type` + `config` (errors name the field), redacts
//!   secrets for display, and [`Sender`] delivers, reporting failures as
//!   [`SendError::Retryable`] or [`SendError::Permanent`].
//! - [`crypto`]: [`SecretKey`], the cluster key that seals channel configurations (which hold
//!   tokens and passwords) before they enter the replicated state.
//!
//! # Example
//!
//! ```no_run
//! use netpulse_alert::{Alert, AlertEvent, ChannelConfig, RegionVote, Sender};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let cfg = ChannelConfig::parse(
//!     "webhook",
//!     &serde_json::json!({"url": "https://hooks.example.com/np", "secret": "at-least-16-chars!"}),
//! )?;
//! let alert = Alert::new(AlertEvent::MonitorDown, "inc-42-open", "api is DOWN", 1_795_398_514_120)
//!     .with_monitor("m1", "API", "https://api.example.com")
//!     .with_incident("inc-42", 1_795_398_514_120, None, false)
//!     .with_region("eu-west", RegionVote::Down, Some("connect timeout".into()));
//! Sender::new().send(&cfg, &alert).await?;
//! # Ok(())
//! # }
//! ```
//!
//! See `docs/alerts.md` for the per-channel reference and the webhook format.
#![deny(missing_docs)]

pub mod channel;
pub mod crypto;
/// The alert message model lives with the rules that produce it (the engine); channels render it.
pub use netpulse_engine::message;

pub use channel::{ChannelConfig, ChannelConfigError, SendError, Sender};
pub use crypto::{CryptoError, SecretKey};
pub use message::{
    rfc3339, Alert, AlertEvent, AlertIncident, AlertMonitor, AlertRegion, IncidentStatus,
    RegionVote,
};
