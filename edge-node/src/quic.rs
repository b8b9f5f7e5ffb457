//! The QUIC client pieces the session and the coordinator canaries share: one UDP endpoint per
//! user, and a client configuration from a rustls configuration and transport settings.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use quinn::crypto::rustls::QuicClientConfig;

/// A client endpoint on an ephemeral port, dual-stack when the host has IPv6, else IPv4.
pub(crate) fn client_endpoint() -> std::io::Result<quinn::Endpoint> {
    quinn::Endpoint::client(SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)))
        .or_else(|_| quinn::Endpoint::client(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))))
}

/// A QUIC client configuration speaking `tls` with `transport`.
pub(crate) fn client_config(
    tls: rustls::ClientConfig,
    transport: quinn::TransportConfig,
) -> Result<quinn::ClientConfig, String> {
    let crypto = QuicClientConfig::try_from(tls).map_err(|e| e.to_string())?;
    let mut cfg = quinn::ClientConfig::new(Arc::new(crypto));
    cfg.transport_config(Arc::new(transport));
    Ok(cfg)
}
