//! The cluster CA on disk.
//!
//! Created on first start in the data directory (`ca.crt`, `ca.key` with mode 0600) and loaded
//! afterwards. The coordinator's own server certificate is issued fresh at every start, so it
//! never expires under a running cluster and carries the current listen addresses.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

use netpulse_protocol::identity::{ClusterCa, IdentityError, NodeIdentity};

/// Errors loading or creating the CA.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// Reading or writing the files failed.
    #[error("CA files in {dir}: {source}")]
    Io { dir: String, source: std::io::Error },
    /// The files are not a valid CA.
    #[error("CA material: {0}")]
    Identity(#[from] IdentityError),
}

/// Loads the CA from `dir`, creating it on first start.
pub fn load_or_create(dir: &Path) -> Result<ClusterCa, CaError> {
    let io = |source| CaError::Io {
        dir: dir.display().to_string(),
        source,
    };
    let (crt, key) = (dir.join("ca.crt"), dir.join("ca.key"));
    if crt.exists() && key.exists() {
        let cert_pem = std::fs::read_to_string(&crt).map_err(io)?;
        let key_pem = std::fs::read_to_string(&key).map_err(io)?;
        return Ok(ClusterCa::from_pem(&cert_pem, &key_pem)?);
    }
    let ca = ClusterCa::generate()?;
    save(dir, &ca)?;
    Ok(ca)
}

/// Whether `dir` holds a CA.
pub fn exists(dir: &Path) -> bool {
    dir.join("ca.crt").exists() && dir.join("ca.key").exists()
}

/// Writes `ca` to `dir` (a joining coordinator receives the cluster's CA).
pub fn save(dir: &Path, ca: &ClusterCa) -> Result<(), CaError> {
    let io = |source| CaError::Io {
        dir: dir.display().to_string(),
        source,
    };
    write_private(&dir.join("ca.key"), ca.key_pem().as_bytes()).map_err(io)?;
    std::fs::write(dir.join("ca.crt"), ca.cert_pem()).map_err(io)
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(tmp, path)
}

/// Issues this coordinator's server identity for the given addresses (plus loopback).
pub fn coordinator_identity(ca: &ClusterCa, ips: &[IpAddr]) -> Result<NodeIdentity, CaError> {
    let mut all: Vec<IpAddr> = ips
        .iter()
        .copied()
        .filter(|ip| !ip.is_unspecified())
        .collect();
    all.push(IpAddr::from([127, 0, 0, 1]));
    all.push(IpAddr::from(std::net::Ipv6Addr::LOCALHOST));
    all.sort();
    all.dedup();
    Ok(ca.issue_coordinator(&all)?)
}
