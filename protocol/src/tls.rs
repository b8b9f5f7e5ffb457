//! rustls configurations for NetPulse's mutual TLS.
//!
//! All configurations use aws-lc-rs explicitly (never the process default, so a second provider
//! linked in by a dependency cannot make rustls panic) and TLS 1.3 only, as QUIC requires.
//!
//! - Coordinators accept connections with or without a client certificate: without one, a peer
//!   may only enrol. Callers must check [`peer_node_id`]-style identity on the connection, never
//!   treat "connected" as "authenticated".
//! - Enrolled edge nodes verify the coordinator against the cluster CA and present their own
//!   certificate.
//! - An enrolling node has no CA yet; it pins the CA by the fingerprint in its join token.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

use crate::identity::{fingerprint, NodeIdentity};

/// ALPN protocol id of the edge/coordinator session protocol this build's nodes speak: results
/// carry the node's send time ([`crate::message::EdgeMessage::TimedResults`]) and the
/// coordinator tells the node its peers ([`crate::message::CoordinatorMessage::Cluster`]).
pub const ALPN_EDGE: &[u8] = b"netpulse-edge/2";
/// ALPN protocol id of the first session protocol, still accepted by coordinators so nodes can
/// be upgraded after them: no timed results, no cluster view.
pub const ALPN_EDGE_V1: &[u8] = b"netpulse-edge/1";
/// ALPN protocol id of coordinator-to-coordinator RPCs (Raft, forwarded writes).
pub const ALPN_PEER: &[u8] = b"netpulse-peer/1";
/// ALPN protocol id of a coordinator joining a cluster.
pub const ALPN_JOIN: &[u8] = b"netpulse-join/1";

/// Errors building a TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rustls rejected the material.
    #[error("tls configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client verifier could not be built.
    #[error("client verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// The crypto provider every NetPulse TLS configuration uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(aws_lc_rs::default_provider())
}

fn roots(ca: &CertificateDer<'static>) -> Result<Arc<RootCertStore>, TlsError> {
    let mut store = RootCertStore::empty();
    store.add(ca.clone())?;
    Ok(Arc::new(store))
}

/// Server side of a coordinator: presents `identity`, verifies client certificates against
/// `ca` when offered, and lets certificate-less clients through for enrolment only.
pub fn coordinator_server_config(
    identity: &NodeIdentity,
    ca: &CertificateDer<'static>,
    alpn: &[&[u8]],
) -> Result<ServerConfig, TlsError> {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(ca)?, provider())
        .allow_unauthenticated()
        .build()?;
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.cert_chain.clone(), identity.key.clone_key())?;
    cfg.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    Ok(cfg)
}

/// Client side of an enrolled node: verifies the coordinator against `ca`, presents `identity`.
pub fn node_client_config(
    identity: &NodeIdentity,
    ca: &CertificateDer<'static>,
    alpn: &[u8],
) -> Result<ClientConfig, TlsError> {
    let mut cfg = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots(ca)?)
        .with_client_auth_cert(identity.cert_chain.clone(), identity.key.clone_key())?;
    cfg.alpn_protocols = vec![alpn.to_vec()];
    Ok(cfg)
}

/// Client side of an enrolling node: trusts the coordinator only if its chain contains the CA
/// whose SHA-256 fingerprint is `ca_fingerprint` and the leaf verifies against that CA.
pub fn enrolment_client_config(
    ca_fingerprint: &str,
    alpn: &[u8],
) -> Result<ClientConfig, TlsError> {
    policy_client_config(ServerPolicy::PinnedCa(ca_fingerprint.to_owned()), alpn)
}

/// Client config presenting no certificate but verifying the server against `ca`. Used by tests
/// and tools to prove that such a client gets nothing beyond enrolment.
pub fn anonymous_client_config(
    ca: &CertificateDer<'static>,
    alpn: &[u8],
) -> Result<ClientConfig, TlsError> {
    let mut cfg = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots(ca)?)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![alpn.to_vec()];
    Ok(cfg)
}

/// Client config for a coordinator joining a cluster: it has no CA yet, so it accepts any server
/// certificate. The caller MUST authenticate the peer by other means: NetPulse binds an HMAC of
/// the join secret to the TLS exporter of this very connection, in both directions.
pub fn join_client_config(alpn: &[u8]) -> Result<ClientConfig, TlsError> {
    policy_client_config(ServerPolicy::Any, alpn)
}

fn policy_client_config(policy: ServerPolicy, alpn: &[u8]) -> Result<ClientConfig, TlsError> {
    let verifier = PolicyVerifier {
        policy,
        provider: provider(),
    };
    let mut cfg = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    cfg.alpn_protocols = vec![alpn.to_vec()];
    Ok(cfg)
}

/// How a client without the cluster CA judges a coordinator's certificate.
#[derive(Debug)]
enum ServerPolicy {
    /// Any certificate: the caller authenticates the peer by other means (joining).
    Any,
    /// The chain must contain the CA with this SHA-256 fingerprint and verify against it
    /// (enrolment with a join token).
    PinnedCa(String),
}

#[derive(Debug)]
struct PolicyVerifier {
    policy: ServerPolicy,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PolicyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fingerprint_pin = match &self.policy {
            ServerPolicy::Any => return Ok(ServerCertVerified::assertion()),
            ServerPolicy::PinnedCa(fp) => fp,
        };
        let ca = intermediates
            .iter()
            .find(|c| fingerprint(c) == *fingerprint_pin)
            .ok_or_else(|| {
                rustls::Error::General("coordinator CA does not match the join token".into())
            })?;
        let ca = CertificateDer::from(ca.to_vec());
        let roots = roots(&ca).map_err(|e| rustls::Error::General(e.to_string()))?;
        let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
            roots,
            self.provider.clone(),
        )
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?;
        inner.verify_server_cert(end_entity, &[], server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
