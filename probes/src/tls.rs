//! TLS probe: handshake with `host:port`, verify chain and hostname, judge days until expiry.
//!
//! # Seeing the certificate of a server that fails verification
//! An expired, self-signed or wrong-host certificate is exactly what a TLS check exists to
//! report, with its facts (subject, issuer, names, expiry). rustls aborts the handshake on a
//! bad certificate without handing it out, so the probe installs [`RecordingVerifier`]: it
//! keeps the chain the server presented, then lets rustls' own `WebPkiServerVerifier` (with
//! the system roots or the spec's `ca_pem`) decide. Nothing is ever accepted that WebPKI would
//! refuse.
//!
//! # Judgement
//! - Verification failure: down, [`ErrorClass::Tls`], message starting with
//!   `certificate expired`, `hostname mismatch`, `untrusted` (unknown issuer; `self-signed`
//!   when the leaf signed itself) or `invalid certificate`.
//! - The server cannot speak `min_version` or later: down, [`ErrorClass::Tls`].
//! - Valid chain: the fewest days left over the presented chain (leaf and intermediates) below
//!   `critical_days` is down, below `warn_days` degraded, both [`ErrorClass::Tls`].
//!
//! Every run uses a fresh configuration without session resumption, so every run sees and
//! verifies the full certificate chain.

use std::io;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use netpulse_protocol::check::{TlsSpec, TlsVersion};
use netpulse_protocol::result::ErrorClass;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use super::policy::TargetPolicy;
use super::{ms, net, ProbeBuildError, ProbeContext, ProbeKind, ProbeOutcome};

/// Seconds per day, for `days_left`.
const DAY_SECS: f64 = 86_400.0;

/// Most names from the certificate quoted in a message.
const QUOTED_NAMES: usize = 8;

/// A validated TLS check with its verifier.
#[derive(Debug)]
pub struct TlsProbe {
    host: String,
    port: u16,
    server_name: ServerName<'static>,
    warn_days: u32,
    critical_days: u32,
    versions: &'static [&'static rustls::SupportedProtocolVersion],
    min_version: TlsVersion,
    provider: Arc<CryptoProvider>,
    /// WebPKI verification against the system roots or `ca_pem`.
    verifier: Arc<WebPkiServerVerifier>,
    custom_roots: bool,
    /// The node's target policy, checked on every address before connecting.
    policy: Arc<TargetPolicy>,
}

static TLS12_AND_13: [&rustls::SupportedProtocolVersion; 2] =
    [&rustls::version::TLS13, &rustls::version::TLS12];
static TLS13_ONLY: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS13];

impl ProbeKind for TlsProbe {
    type Spec = TlsSpec;

    /// Validates host, server name and thresholds, and builds the verifier (parsing `ca_pem`,
    /// or loading the system roots once per process).
    fn build(spec: &TlsSpec, ctx: &ProbeContext) -> Result<Self, ProbeBuildError> {
        let trimmed = spec.host.trim();
        let host = match trimmed.strip_prefix('[') {
            Some(rest) => rest
                .strip_suffix(']')
                .ok_or_else(|| ProbeBuildError::InvalidHost(spec.host.clone()))?,
            None => trimmed,
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ProbeBuildError::InvalidHost(spec.host.clone()));
        }
        let name = spec
            .server_name
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(host);
        let server_name =
            ServerName::try_from(name.to_owned()).map_err(|_| ProbeBuildError::InvalidField {
                field: "server_name",
                reason: format!("{name:?} is not a DNS name or IP address"),
            })?;
        if spec.critical_days > spec.warn_days {
            return Err(ProbeBuildError::InvalidField {
                field: "critical_days",
                reason: "must not exceed warn_days".into(),
            });
        }
        let provider = netpulse_protocol::tls::provider();
        let (verifier, custom_roots) = match spec.ca_pem.as_deref() {
            Some(pem) => (custom_verifier(pem, provider.clone())?, true),
            None => (system_verifier()?, false),
        };
        let versions: &'static [&'static rustls::SupportedProtocolVersion] = match spec.min_version
        {
            TlsVersion::Tls12 => &TLS12_AND_13,
            TlsVersion::Tls13 => &TLS13_ONLY,
        };
        Ok(Self {
            host: host.to_owned(),
            port: spec.port,
            server_name,
            warn_days: spec.warn_days,
            critical_days: spec.critical_days,
            versions,
            min_version: spec.min_version,
            provider,
            verifier,
            custom_roots,
            policy: Arc::clone(&ctx.target_policy),
        })
    }

    /// Connects, handshakes and judges. Never enforces a timeout itself (see `Probe::run`).
    async fn run(&self, _timeout: Duration) -> ProbeOutcome {
        let net::Connected {
            stream: tcp,
            mut metrics,
            ..
        } = match net::connect(&self.host, self.port, &self.policy).await {
            Ok(c) => c,
            Err(down) => return down,
        };

        let seen = Arc::new(Mutex::new(None));
        let config = match self.client_config(seen.clone()) {
            Ok(c) => c,
            Err(e) => {
                return ProbeOutcome::down(
                    ErrorClass::Internal,
                    format!("TLS configuration: {e}"),
                    metrics,
                )
            }
        };
        let handshake_start = Instant::now();
        let result = TlsConnector::from(Arc::new(config))
            .connect(self.server_name.clone(), tcp)
            .await;
        let handshake = handshake_start.elapsed();
        let seen = seen.lock().unwrap_or_else(|p| p.into_inner()).take();
        let facts = seen
            .as_ref()
            .map(|s| ChainFacts::from_chain(&s.chain, now_secs()));
        if let Some(f) = &facts {
            metrics.push(("days_left".to_owned(), f.days_left));
            metrics.push(("chain_len".to_owned(), f.chain_len as f64));
        }

        match result {
            Ok(mut stream) => {
                metrics.push(("handshake_ms".to_owned(), ms(handshake)));
                let (_, conn) = stream.get_ref();
                let version = conn.protocol_version();
                if let Some(v) = version.and_then(version_metric) {
                    metrics.push(("tls_version".to_owned(), v));
                }
                let cipher = conn
                    .negotiated_cipher_suite()
                    .map(|s| {
                        let suite = s.suite();
                        suite
                            .as_str()
                            .map_or_else(|| format!("{suite:?}"), str::to_owned)
                    })
                    .unwrap_or_else(|| "unknown cipher".into());
                // Polite close; the verdict does not depend on it.
                let _ = stream.shutdown().await;
                let Some(facts) = facts else {
                    return ProbeOutcome::down(
                        ErrorClass::Internal,
                        "handshake finished without a certificate to judge",
                        metrics,
                    );
                };
                let version_text = match version {
                    Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_owned(),
                    Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_owned(),
                    Some(other) => format!("{other:?}"),
                    None => "unknown version".to_owned(),
                };
                let detail = format!("{version_text} {cipher}; {}", facts.describe());
                self.judge_expiry(&facts, detail, metrics)
            }
            Err(e) => {
                let verdict = seen.and_then(|s| s.verdict.err());
                let (class, reason) = self.classify_failure(&e, verdict.as_ref(), facts.as_ref());
                let message = match &facts {
                    Some(f) => format!("{reason}; {}", f.describe()),
                    None => reason,
                };
                ProbeOutcome::down(class, message.clone(), metrics).with_detail(message)
            }
        }
    }
}

impl TlsProbe {
    fn client_config(&self, seen: Arc<Mutex<Option<Seen>>>) -> Result<ClientConfig, rustls::Error> {
        let verifier = RecordingVerifier {
            inner: self.verifier.clone(),
            seen,
        };
        let mut config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(self.versions)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        // A resumed session skips certificate verification: every run must see the chain.
        config.resumption = Resumption::disabled();
        Ok(config)
    }

    fn judge_expiry(
        &self,
        facts: &ChainFacts,
        detail: String,
        metrics: Vec<(String, f64)>,
    ) -> ProbeOutcome {
        let days = facts.days_left;
        let which = if facts.first_to_expire == facts.subject {
            "certificate".to_owned()
        } else {
            format!("chain certificate {:?}", facts.first_to_expire)
        };
        if days < f64::from(self.critical_days) {
            let message = format!(
                "{which} expires in {days:.1} days, fewer than critical_days {} ({detail})",
                self.critical_days
            );
            ProbeOutcome::down(ErrorClass::Tls, message, metrics).with_detail(detail)
        } else if days < f64::from(self.warn_days) {
            let message = format!(
                "{which} expires in {days:.1} days, fewer than warn_days {} ({detail})",
                self.warn_days
            );
            ProbeOutcome::degraded(ErrorClass::Tls, message, metrics).with_detail(detail)
        } else {
            ProbeOutcome::up(metrics).with_detail(detail)
        }
    }

    fn classify_failure(
        &self,
        err: &io::Error,
        verdict: Option<&rustls::Error>,
        facts: Option<&ChainFacts>,
    ) -> (ErrorClass, String) {
        let tls_err = verdict.or_else(|| {
            err.get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        let Some(tls_err) = tls_err else {
            let class = match err.kind() {
                io::ErrorKind::ConnectionReset | io::ErrorKind::UnexpectedEof => ErrorClass::Tls,
                io::ErrorKind::TimedOut => ErrorClass::Timeout,
                _ => ErrorClass::Tls,
            };
            return (class, format!("TLS handshake failed: {err}"));
        };
        let roots = if self.custom_roots {
            "ca_pem"
        } else {
            "the system roots"
        };
        let reason = match tls_err {
            rustls::Error::InvalidCertificate(cert_err) => match cert_err {
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    let ago = facts.map(|f| -f.leaf_days_left).unwrap_or(0.0);
                    format!("certificate expired {ago:.1} days ago")
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    "certificate not valid yet".to_owned()
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => format!(
                    "hostname mismatch: the certificate is not valid for {}",
                    self.server_name.to_str()
                ),
                CertificateError::UnknownIssuer => match facts {
                    Some(f) if f.self_signed => {
                        format!("untrusted: self-signed certificate, not in {roots}")
                    }
                    Some(f) => format!("untrusted: issuer {} is not in {roots}", f.issuer),
                    None => format!("untrusted: unknown issuer, not in {roots}"),
                },
                other => format!("invalid certificate: {other:?}"),
            },
            rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion)
            | rustls::Error::PeerIncompatible(_)
                if self.min_version == TlsVersion::Tls13 =>
            {
                format!("the server does not offer TLS 1.3 (min_version 1.3): {tls_err}")
            }
            rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion) => {
                format!(
                    "no TLS version in common (min_version {}): {tls_err}",
                    self.min_version.as_str()
                )
            }
            other => format!("TLS handshake failed: {other}"),
        };
        (ErrorClass::Tls, reason)
    }
}

/// Verification against `ca_pem` alone (also used by the http probe).
pub(super) fn custom_verifier(
    pem: &str,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, ProbeBuildError> {
    let invalid = |reason: String| ProbeBuildError::InvalidField {
        field: "ca_pem",
        reason,
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| invalid(format!("unreadable PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| invalid(format!("unusable certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(invalid("no certificate in the PEM text".into()));
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| invalid(e.to_string()))
}

/// Verification against the operating system's roots, loaded once per process and shared by
/// every tls and http probe.
pub(super) fn system_verifier() -> Result<Arc<WebPkiServerVerifier>, ProbeBuildError> {
    static SYSTEM: OnceLock<Result<Arc<WebPkiServerVerifier>, String>> = OnceLock::new();
    SYSTEM
        .get_or_init(|| {
            let loaded = rustls_native_certs::load_native_certs();
            let mut roots = RootCertStore::empty();
            let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
            if added == 0 {
                let errors: Vec<String> = loaded.errors.iter().map(|e| e.to_string()).collect();
                return Err(format!(
                    "none found (install ca-certificates, or set ca_pem){}",
                    if errors.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", errors.join("; "))
                    }
                ));
            }
            WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                netpulse_protocol::tls::provider(),
            )
            .build()
            .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(ProbeBuildError::SystemRoots)
}

/// What the verifier saw during one handshake.
#[derive(Debug)]
struct Seen {
    /// Leaf first, then the intermediates as sent.
    chain: Vec<CertificateDer<'static>>,
    /// WebPKI's verdict on the chain.
    verdict: Result<(), rustls::Error>,
}

/// Keeps the presented chain and WebPKI's verdict, then returns that verdict unchanged.
#[derive(Debug)]
pub struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    seen: Arc<Mutex<Option<Seen>>>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        let mut chain = Vec::with_capacity(1 + intermediates.len());
        chain.push(end_entity.clone().into_owned());
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(Seen {
            chain,
            verdict: verdict.as_ref().map(|_| ()).map_err(Clone::clone),
        });
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Facts about a presented chain, for metrics and messages.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainFacts {
    /// Subject of the leaf, RFC 4514 style.
    pub subject: String,
    /// Issuer of the leaf.
    pub issuer: String,
    /// DNS names and IP addresses the leaf is valid for.
    pub sans: Vec<String>,
    /// The leaf's not-after, RFC 3339.
    pub not_after: String,
    /// Days until the leaf expires (negative once expired).
    pub leaf_days_left: f64,
    /// Days until the first certificate of the chain expires.
    pub days_left: f64,
    /// Subject of that certificate (the leaf's, unless an intermediate expires first).
    pub first_to_expire: String,
    /// Certificates presented.
    pub chain_len: usize,
    /// Issuer equals subject: the leaf signed itself.
    pub self_signed: bool,
}

impl ChainFacts {
    /// Parses the chain; certificates that do not parse are skipped (the leaf's facts then
    /// say so), since WebPKI, not this parser, judges validity.
    pub fn from_chain(chain: &[CertificateDer<'_>], now_unix: f64) -> Self {
        let mut facts = ChainFacts {
            subject: "unparsable certificate".into(),
            issuer: String::new(),
            sans: Vec::new(),
            not_after: String::new(),
            leaf_days_left: 0.0,
            days_left: f64::INFINITY,
            first_to_expire: String::new(),
            chain_len: chain.len(),
            self_signed: false,
        };
        for (i, der) in chain.iter().enumerate() {
            let Ok((_, cert)) = x509_parser::parse_x509_certificate(der.as_ref()) else {
                continue;
            };
            let not_after = cert.validity().not_after;
            let days = (not_after.timestamp() as f64 - now_unix) / DAY_SECS;
            if days < facts.days_left {
                facts.days_left = days;
                facts.first_to_expire = cert.subject().to_string();
            }
            if i == 0 {
                facts.subject = cert.subject().to_string();
                facts.issuer = cert.issuer().to_string();
                facts.self_signed = cert.subject().as_raw() == cert.issuer().as_raw();
                facts.leaf_days_left = days;
                facts.not_after = not_after
                    .to_datetime()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_else(|_| not_after.to_string());
                if let Ok(Some(san)) = cert.subject_alternative_name() {
                    for name in &san.value.general_names {
                        match name {
                            x509_parser::extensions::GeneralName::DNSName(d) => {
                                facts.sans.push((*d).to_owned())
                            }
                            x509_parser::extensions::GeneralName::IPAddress(bytes) => {
                                if let Some(ip) = ip_from_bytes(bytes) {
                                    facts.sans.push(ip.to_string());
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        if !facts.days_left.is_finite() {
            facts.days_left = 0.0;
        }
        facts
    }

    /// One line for messages: subject, issuer, SANs, not-after, days left.
    pub fn describe(&self) -> String {
        let sans = if self.sans.is_empty() {
            "none".to_owned()
        } else {
            let mut s = self
                .sans
                .iter()
                .take(QUOTED_NAMES)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if self.sans.len() > QUOTED_NAMES {
                s.push_str(&format!(" and {} more", self.sans.len() - QUOTED_NAMES));
            }
            s
        };
        format!(
            "subject {:?}, issuer {:?}, SANs [{sans}], not after {}, {:.1} days left",
            self.subject, self.issuer, self.not_after, self.days_left
        )
    }
}

fn ip_from_bytes(bytes: &[u8]) -> Option<std::net::IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(std::net::IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(std::net::IpAddr::from),
        _ => None,
    }
}

/// `12` for TLS 1.2, `13` for TLS 1.3, as the `tls_version` metric.
fn version_metric(v: rustls::ProtocolVersion) -> Option<f64> {
    match v {
        rustls::ProtocolVersion::TLSv1_2 => Some(12.0),
        rustls::ProtocolVersion::TLSv1_3 => Some(13.0),
        _ => None,
    }
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

/// Tries each address in order; classifies the last failure.
#[cfg(test)]
mod tests {
    use netpulse_protocol::check::{TLS_DEFAULT_CRITICAL_DAYS, TLS_DEFAULT_WARN_DAYS};
    use rcgen::{CertificateParams, KeyPair};

    use super::*;

    fn spec(host: &str) -> TlsSpec {
        TlsSpec {
            host: host.into(),
            port: 443,
            server_name: None,
            warn_days: TLS_DEFAULT_WARN_DAYS,
            critical_days: TLS_DEFAULT_CRITICAL_DAYS,
            ca_pem: None,
            min_version: TlsVersion::Tls12,
        }
    }

    fn ctx() -> ProbeContext {
        ProbeContext::for_node("r", "n")
    }

    fn cert(names: &[&str], days: i64) -> (rcgen::Certificate, KeyPair) {
        let key = KeyPair::generate().expect("key");
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, names[0]);
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(days);
        (params.self_signed(&key).expect("cert"), key)
    }

    #[test]
    fn facts_of_a_self_signed_leaf() {
        let (c, _) = cert(&["db.example.test", "127.0.0.1"], 10);
        let facts = ChainFacts::from_chain(&[c.der().clone()], now_secs());
        assert!(facts.self_signed);
        assert_eq!(facts.chain_len, 1);
        assert_eq!(facts.sans, vec!["db.example.test", "127.0.0.1"]);
        assert!(
            facts.subject.contains("CN=db.example.test"),
            "{}",
            facts.subject
        );
        assert!((facts.days_left - 10.0).abs() < 0.01, "{}", facts.days_left);
        assert_eq!(facts.days_left, facts.leaf_days_left);
        let line = facts.describe();
        assert!(
            line.contains("SANs [db.example.test, 127.0.0.1]") && line.contains("10.0 days left"),
            "{line}"
        );
    }

    #[test]
    fn chain_days_left_is_the_earliest_expiry() {
        let (leaf, _) = cert(&["a.example.test"], 90);
        let (inter, _) = cert(&["Intermediate"], 5);
        let facts = ChainFacts::from_chain(&[leaf.der().clone(), inter.der().clone()], now_secs());
        assert!((facts.leaf_days_left - 90.0).abs() < 0.01);
        assert!((facts.days_left - 5.0).abs() < 0.01);
        assert_eq!(facts.first_to_expire, "CN=Intermediate");
        assert_eq!(facts.subject, "CN=a.example.test");
        let garbage = ChainFacts::from_chain(&[CertificateDer::from(vec![1, 2, 3])], now_secs());
        assert_eq!(garbage.subject, "unparsable certificate");
        assert_eq!(garbage.days_left, 0.0);
    }

    #[test]
    fn build_validates() {
        let (ca, _) = cert(&["ca"], 30);
        let mut with_ca = spec("[::1]");
        with_ca.ca_pem = Some(ca.pem());
        let probe = TlsProbe::build(&with_ca, &ctx()).expect("valid");
        assert_eq!(probe.host, "::1");
        assert!(probe.custom_roots);
        assert_eq!(probe.server_name.to_str(), "::1");

        let mut sni = spec("127.0.0.1");
        sni.server_name = Some("www.example.test".into());
        sni.ca_pem = Some(ca.pem());
        assert_eq!(
            TlsProbe::build(&sni, &ctx())
                .expect("valid")
                .server_name
                .to_str(),
            "www.example.test"
        );

        let cases: [(TlsSpec, &str); 4] = [
            (
                TlsSpec {
                    ca_pem: Some("not pem".into()),
                    ..spec("h")
                },
                "ca_pem",
            ),
            (
                TlsSpec {
                    ca_pem: Some(
                        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
                    ),
                    ..spec("h")
                },
                "ca_pem",
            ),
            (
                TlsSpec {
                    warn_days: 3,
                    critical_days: 5,
                    ..spec("h")
                },
                "critical_days",
            ),
            (
                TlsSpec {
                    server_name: Some("bad name!".into()),
                    ..spec("h")
                },
                "server_name",
            ),
        ];
        for (s, field) in cases {
            match TlsProbe::build(&s, &ctx()) {
                Err(ProbeBuildError::InvalidField { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(matches!(
            TlsProbe::build(&spec("a b"), &ctx()),
            Err(ProbeBuildError::InvalidHost(_))
        ));
    }
}
