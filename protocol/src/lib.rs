//! The NetPulse wire protocol, shared by coordinators and edge nodes.
//!
//! This crate has no runtime and no sockets: it defines what travels between an edge node and a
//! coordinator and how it is framed, so both sides (and tests) can speak it without a network.
//!
//! # Layout
//! - [`frame`]: length-prefixed, versioned postcard frames with a hard size limit, and a sans-I/O
//!   [`frame::FrameDecoder`] that tells "incomplete" from "invalid".
//! - [`message`]: the messages of a session ([`message::EdgeMessage`], [`message::CoordinatorMessage`]).
//! - [`check`]: what an edge node is asked to probe ([`check::CheckSpec`]).
//! - [`result`]: what it measured ([`result::CheckResult`]), with a machine-readable error class.
//! - [`limits`]: what one result and one batch may carry; the edge fits results to them, the
//!   coordinator refuses (and counts) a result that still breaks one.
//! - [`json_path`]: the small JSON path dialect of HTTP checks.
//! - [`identity`]: the cluster CA, node certificates issued from CSRs at enrolment.
//! - [`tls`]: rustls configurations for mutual TLS, and the CA-pinning verifier used at enrolment.
//! - [`token`]: the join token format (secret plus CA fingerprint).

pub mod check;
pub mod frame;
pub mod identity;
pub mod json_path;
pub mod limits;
pub mod message;
pub mod result;
pub mod tls;
pub mod token;

pub use frame::{FrameDecoder, FrameError, MAX_FRAME_LEN, PROTOCOL_VERSION};
