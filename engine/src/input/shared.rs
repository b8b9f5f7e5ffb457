//! Checks that more than one kind uses: `host:port` targets, CA bundles, regular expressions.

use netpulse_protocol::check::TcpSpec;

use super::InputError;

/// Largest `ca_pem` bundle.
const MAX_CA_PEM: usize = 64 * 1024;

/// Longest regular expression (`expect_regex`, `extract`) accepted.
const MAX_REGEX_LEN: usize = 1024;

/// Parses `host:port` or `[v6]:port`.
pub(super) fn parse_host_port(target: &str) -> Result<TcpSpec, InputError> {
    let bad = || InputError::invalid_field("target", "must be host:port (IPv6 as [addr]:port)");
    let (host, port) = if let Some(rest) = target.strip_prefix('[') {
        let (h, p) = rest.split_once("]:").ok_or_else(bad)?;
        h.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        (h, p)
    } else {
        target.rsplit_once(':').ok_or_else(bad)?
    };
    if host.is_empty() || host.contains(':') && !target.starts_with('[') {
        return Err(bad());
    }
    let port: u16 = port.parse().ok().filter(|p| *p > 0).ok_or_else(bad)?;
    Ok(TcpSpec {
        host: host.to_owned(),
        port,
        ..Default::default()
    })
}

/// Checks that `pem` holds at least one certificate usable as a trust anchor; returns it
/// trimmed.
pub(super) fn check_ca_pem(pem: &str) -> Result<String, InputError> {
    use rustls::pki_types::pem::PemObject;
    if pem.len() > MAX_CA_PEM {
        return Err(InputError::invalid_field(
            "ca_pem",
            format!("at most {} KiB", MAX_CA_PEM / 1024),
        ));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert =
            cert.map_err(|e| InputError::invalid_field("ca_pem", format!("unreadable PEM: {e}")))?;
        roots.add(cert).map_err(|e| {
            InputError::invalid_field("ca_pem", format!("not a usable CA certificate: {e}"))
        })?;
    }
    if roots.is_empty() {
        return Err(InputError::invalid_field(
            "ca_pem",
            "no \"-----BEGIN CERTIFICATE-----\" block",
        ));
    }
    Ok(pem.trim().to_owned())
}

/// Compiles `re` (bounded in size); with `name`, it must have exactly one capture group.
pub(super) fn check_regex(
    field: &'static str,
    re: &str,
    name: Option<&str>,
) -> Result<(), InputError> {
    let what = name.map_or_else(String::new, |n| format!("{n:?}: "));
    if re.len() > MAX_REGEX_LEN {
        return Err(InputError::invalid_field(
            field,
            format!("{what}at most {MAX_REGEX_LEN} characters"),
        ));
    }
    let compiled = regex::RegexBuilder::new(re)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| InputError::invalid_field(field, format!("{what}invalid regex: {e}")))?;
    if name.is_some() && compiled.captures_len() != 2 {
        return Err(InputError::invalid_field(
            field,
            format!("{what}needs exactly one capture group (the number)"),
        ));
    }
    Ok(())
}
