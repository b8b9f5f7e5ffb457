//! The node's identity on disk: key, certificate, CA and node id, written at enrolment.
//!
//! Files live in `<data-dir>/identity/`; the key is written with mode 0600 before anything else,
//! and `node.json` last, so a crash mid-enrolment leaves no half identity that looks complete.

use std::io::Write;
use std::path::{Path, PathBuf};

use netpulse_protocol::identity::{cert_to_pem, certs_from_pem, NodeIdentity};
use rustls::pki_types::CertificateDer;
use serde::{Deserialize, Serialize};

/// Errors reading or writing identity files.
#[derive(Debug, thiserror::Error)]
pub enum IdentityFileError {
    /// File system failure.
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A file exists but is not valid.
    #[error("{path}: {detail}")]
    Invalid { path: String, detail: String },
}

/// Who this node is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Id assigned at enrolment.
    pub node_id: String,
    /// Region enrolled in.
    pub region: String,
}

/// A loaded identity.
pub struct StoredIdentity {
    /// Id and region.
    pub info: NodeInfo,
    /// Certificate and key for mutual TLS.
    pub tls: NodeIdentity,
    /// The cluster CA.
    pub ca: CertificateDer<'static>,
}

fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("identity")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> IdentityFileError + '_ {
    move |source| IdentityFileError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Loads the identity, `Ok(None)` if the node has not enrolled yet.
pub fn load(data_dir: &Path) -> Result<Option<StoredIdentity>, IdentityFileError> {
    let d = dir(data_dir);
    let info_path = d.join("node.json");
    if !info_path.exists() {
        return Ok(None);
    }
    let read = |name: &str| {
        let p = d.join(name);
        std::fs::read_to_string(&p).map_err(|source| IdentityFileError::Io {
            path: p.display().to_string(),
            source,
        })
    };
    let info: NodeInfo =
        serde_json::from_str(&read("node.json")?).map_err(|e| IdentityFileError::Invalid {
            path: info_path.display().to_string(),
            detail: e.to_string(),
        })?;
    let invalid = |name: &str, detail: String| IdentityFileError::Invalid {
        path: d.join(name).display().to_string(),
        detail,
    };
    let tls = NodeIdentity::from_pem(&read("node.crt")?, &read("node.key")?)
        .map_err(|e| invalid("node.crt", e.to_string()))?;
    let ca = certs_from_pem(&read("ca.crt")?)
        .map_err(|e| invalid("ca.crt", e.to_string()))?
        .into_iter()
        .next()
        .ok_or_else(|| invalid("ca.crt", "no certificate".into()))?;
    Ok(Some(StoredIdentity { info, tls, ca }))
}

/// Writes a freshly enrolled identity.
pub fn save(
    data_dir: &Path,
    info: &NodeInfo,
    key_pem: &str,
    cert_der: &[u8],
    ca_der: &[u8],
) -> Result<(), IdentityFileError> {
    use std::os::unix::fs::OpenOptionsExt;
    let d = dir(data_dir);
    std::fs::create_dir_all(&d).map_err(io(&d))?;
    let write = |name: &str, data: &[u8], mode: u32| -> Result<(), IdentityFileError> {
        let p = d.join(name);
        let tmp = d.join(format!("{name}.tmp"));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .map_err(io(&tmp))?;
        f.write_all(data).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &p).map_err(io(&p))
    };
    write("node.key", key_pem.as_bytes(), 0o600)?;
    write("node.crt", cert_to_pem(cert_der).as_bytes(), 0o644)?;
    write("ca.crt", cert_to_pem(ca_der).as_bytes(), 0o644)?;
    let info_json = serde_json::to_vec_pretty(info).unwrap_or_default();
    write("node.json", &info_json, 0o644)
}
