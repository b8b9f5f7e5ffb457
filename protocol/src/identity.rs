//! Cluster CA and node certificates.
//!
//! The coordinator creates a CA on first start. Edge nodes generate their own key pair and send a
//! CSR at enrolment; the coordinator takes only the public key from it and decides every field of
//! the certificate itself (a node cannot ask to become a CA or to carry another node's name).
//! The node id travels in the certificate as a DNS SAN `<id>.node.netpulse`, so a coordinator
//! learns who a peer is from the TLS handshake alone.

use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{
    CertificateDer, CertificateSigningRequestDer, PrivateKeyDer, PrivatePkcs8KeyDer,
};
use sha2::{Digest, Sha256};

/// Name every coordinator certificate carries and every client verifies.
pub const COORDINATOR_SERVER_NAME: &str = "coordinator.netpulse";

const NODE_SAN_SUFFIX: &str = ".node.netpulse";

/// Why certificate material could not be produced or read.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// rcgen refused to build or parse something.
    #[error("certificate error: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// PEM or DER input was not what was expected.
    #[error("invalid certificate material: {0}")]
    Invalid(String),
}

/// SHA-256 fingerprint of a DER certificate, lower-case hex.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// The cluster certificate authority.
pub struct ClusterCa {
    cert_der: CertificateDer<'static>,
    cert_pem: String,
    key: KeyPair,
}

impl ClusterCa {
    /// Creates a fresh CA valid for ten years.
    pub fn generate() -> Result<Self, IdentityError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "NetPulse cluster CA");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(3650);
        let cert = params.self_signed(&key)?;
        Ok(Self {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            key,
        })
    }

    /// Loads a CA saved with [`ClusterCa::cert_pem`] and [`ClusterCa::key_pem`].
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, IdentityError> {
        let key = KeyPair::from_pem(key_pem)?;
        let der = pem_to_der(cert_pem, "CERTIFICATE")?;
        // Parse once so a corrupt file fails here rather than at the first enrolment.
        Issuer::from_ca_cert_der(&der, &key)?;
        Ok(Self {
            cert_der: der,
            cert_pem: cert_pem.to_owned(),
            key,
        })
    }

    /// CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// CA private key, PEM (PKCS#8). Store with owner-only permissions.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// CA certificate, DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// Fingerprint that join tokens carry so new nodes can pin this CA.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.cert_der)
    }

    fn issuer(&self) -> Result<Issuer<'static, &KeyPair>, IdentityError> {
        Ok(Issuer::from_ca_cert_der(&self.cert_der, &self.key)?)
    }

    /// Issues a coordinator server certificate (fresh key) for [`COORDINATOR_SERVER_NAME`] and
    /// the given addresses; the chain includes the CA so enrolling nodes can match their pin.
    pub fn issue_coordinator(&self, ips: &[IpAddr]) -> Result<NodeIdentity, IdentityError> {
        let key = KeyPair::generate()?;
        let mut params = leaf_params(COORDINATOR_SERVER_NAME)?;
        params
            .subject_alt_names
            .extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.signed_by(&key, &self.issuer()?)?;
        Ok(NodeIdentity {
            cert_chain: vec![cert.der().clone(), self.cert_der.clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        })
    }

    /// Signs an edge node's CSR. Only the public key is taken from the request.
    pub fn sign_node_csr(&self, csr_der: &[u8], node_id: &str) -> Result<Vec<u8>, IdentityError> {
        if !is_valid_node_id(node_id) {
            return Err(IdentityError::Invalid(format!(
                "invalid node id {node_id:?}"
            )));
        }
        let csr = CertificateSigningRequestParams::from_der(&CertificateSigningRequestDer::from(
            csr_der,
        ))?;
        let mut params = leaf_params(&format!("{node_id}{NODE_SAN_SUFFIX}"))?;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&csr.public_key, &self.issuer()?)?;
        Ok(cert.der().to_vec())
    }
}

fn leaf_params(dns_name: &str) -> Result<CertificateParams, IdentityError> {
    let mut params = CertificateParams::new(vec![dns_name.to_owned()])?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, dns_name);
    params.distinguished_name = dn;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(825);
    Ok(params)
}

/// Whether `id` is acceptable as a node id: 1-63 chars of `[a-z0-9-]`, usable inside a DNS name.
pub fn is_valid_node_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 63
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

/// Reads the node id out of a certificate issued by [`ClusterCa::sign_node_csr`].
pub fn node_id_from_cert(der: &[u8]) -> Result<String, IdentityError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| IdentityError::Invalid(format!("unparseable certificate: {e}")))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| IdentityError::Invalid(format!("bad SAN extension: {e}")))?
        .ok_or_else(|| IdentityError::Invalid("certificate has no SAN".into()))?;
    for name in &san.value.general_names {
        if let x509_parser::extensions::GeneralName::DNSName(dns) = name {
            if let Some(id) = dns.strip_suffix(NODE_SAN_SUFFIX) {
                if is_valid_node_id(id) {
                    return Ok(id.to_owned());
                }
            }
        }
    }
    Err(IdentityError::Invalid(
        "certificate names no edge node".into(),
    ))
}

/// Whether a (CA-verified) certificate belongs to a coordinator rather than an edge node.
pub fn is_coordinator_cert(der: &[u8]) -> bool {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return false;
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return false;
    };
    san.value.general_names.iter().any(|n| {
        matches!(n, x509_parser::extensions::GeneralName::DNSName(d) if *d == COORDINATOR_SERVER_NAME)
    })
}

/// A certificate chain and its private key: what a TLS endpoint presents.
pub struct NodeIdentity {
    /// Leaf first.
    pub cert_chain: Vec<CertificateDer<'static>>,
    /// Private key of the leaf.
    pub key: PrivateKeyDer<'static>,
}

impl NodeIdentity {
    /// Builds an identity from a certificate chain and a PKCS#8 key, all PEM.
    pub fn from_pem(chain_pem: &str, key_pem: &str) -> Result<Self, IdentityError> {
        let cert_chain = pem_blocks(chain_pem, "CERTIFICATE")?
            .into_iter()
            .map(CertificateDer::from)
            .collect::<Vec<_>>();
        if cert_chain.is_empty() {
            return Err(IdentityError::Invalid("no certificate in chain".into()));
        }
        let key = KeyPair::from_pem(key_pem)?;
        Ok(Self {
            cert_chain,
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        })
    }
}

/// A new key pair and a CSR for it, as an edge node makes at enrolment.
pub struct PendingIdentity {
    /// PEM of the private key, to be stored by the node.
    pub key_pem: String,
    /// DER of the CSR, to be sent in [`crate::message::Enrol`].
    pub csr_der: Vec<u8>,
}

/// Generates a key pair and a CSR for it.
pub fn generate_csr() -> Result<PendingIdentity, IdentityError> {
    let key = KeyPair::generate()?;
    let params = CertificateParams::new(Vec::<String>::new())?;
    let csr = params.serialize_request(&key)?;
    Ok(PendingIdentity {
        key_pem: key.serialize_pem(),
        csr_der: csr.der().to_vec(),
    })
}

/// PEM-encodes one DER certificate.
pub fn cert_to_pem(der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("CERTIFICATE", der))
}

/// Parses every certificate in a PEM string.
pub fn certs_from_pem(pem: &str) -> Result<Vec<CertificateDer<'static>>, IdentityError> {
    Ok(pem_blocks(pem, "CERTIFICATE")?
        .into_iter()
        .map(CertificateDer::from)
        .collect())
}

fn pem_to_der(pem: &str, label: &str) -> Result<CertificateDer<'static>, IdentityError> {
    pem_blocks(pem, label)?
        .into_iter()
        .next()
        .map(CertificateDer::from)
        .ok_or_else(|| IdentityError::Invalid(format!("no {label} block")))
}

fn pem_blocks(pem: &str, label: &str) -> Result<Vec<Vec<u8>>, IdentityError> {
    use rustls::pki_types::pem::PemObject;
    match label {
        "CERTIFICATE" => CertificateDer::pem_slice_iter(pem.as_bytes())
            .map(|c| c.map(|c| c.to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| IdentityError::Invalid(format!("bad PEM: {e}"))),
        other => Err(IdentityError::Invalid(format!(
            "unsupported PEM label {other}"
        ))),
    }
}
