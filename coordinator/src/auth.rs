//! API keys and join tokens: generation, hashing and verification.
//!
//! Secrets are random (API keys 160 bits, token secrets 128 bits), so storing a SHA-256 of them is
//! enough: there is nothing to brute-force that a slow hash would protect. Comparison is
//! constant-time.

use netpulse_protocol::token::JoinToken;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::store::StateStore;
use netpulse_engine::model::{ApiKeyRecord, JoinTokenRecord, Role};
use netpulse_engine::state::StateError;

/// Why a credential was refused. The message is safe to show to the caller.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Not of the expected shape.
    #[error("malformed credential")]
    Malformed,
    /// Unknown id or wrong secret (not told apart, on purpose).
    #[error("invalid credential")]
    Invalid,
    /// The join token has expired.
    #[error("join token expired")]
    Expired,
    /// The join token was revoked.
    #[error("join token revoked")]
    Revoked,
    /// The state could not be read.
    #[error(transparent)]
    State(#[from] StateError),
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn hashes_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Creates a new API key: the plaintext (shown once) and the record to commit.
pub fn new_api_key(name: &str, role: Role, now_ms: i64) -> (String, ApiKeyRecord) {
    let id = random_hex(8);
    let secret = random_hex(20);
    let record = ApiKeyRecord {
        id: id.clone(),
        name: name.to_owned(),
        secret_sha256: sha256_hex(&secret),
        role,
        created_at_ms: now_ms,
    };
    (format!("npk_{id}_{secret}"), record)
}

/// Checks a presented API key against the state.
pub fn verify_api_key(store: &StateStore, presented: &str) -> Result<ApiKeyRecord, AuthError> {
    let rest = presented
        .trim()
        .strip_prefix("npk_")
        .ok_or(AuthError::Malformed)?;
    let (id, secret) = rest.split_once('_').ok_or(AuthError::Malformed)?;
    if id.len() != 16 || secret.len() != 40 {
        return Err(AuthError::Malformed);
    }
    let record = store.api_key(id)?.ok_or(AuthError::Invalid)?;
    if hashes_equal(&record.secret_sha256, &sha256_hex(secret)) {
        Ok(record)
    } else {
        Err(AuthError::Invalid)
    }
}

/// Creates a join token pinned to the CA with `ca_fingerprint`.
pub fn new_join_token(
    ca_fingerprint: &str,
    description: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> (JoinToken, JoinTokenRecord) {
    let token = JoinToken {
        id: random_hex(8),
        secret: random_hex(16),
        ca_fingerprint: ca_fingerprint.to_owned(),
    };
    let record = JoinTokenRecord {
        id: token.id.clone(),
        secret_sha256: sha256_hex(&token.secret),
        description: description.to_owned(),
        created_at_ms: now_ms,
        expires_at_ms: now_ms.saturating_add(ttl_ms),
        revoked: false,
    };
    (token, record)
}

/// Checks a join token presented at enrolment.
pub fn verify_join_token(
    store: &StateStore,
    presented: &str,
    now_ms: i64,
) -> Result<JoinTokenRecord, AuthError> {
    let token: JoinToken = presented.parse().map_err(|_| AuthError::Malformed)?;
    let record = store.token(&token.id)?.ok_or(AuthError::Invalid)?;
    if !hashes_equal(&record.secret_sha256, &sha256_hex(&token.secret)) {
        return Err(AuthError::Invalid);
    }
    if record.revoked {
        return Err(AuthError::Revoked);
    }
    if now_ms >= record.expires_at_ms {
        return Err(AuthError::Expired);
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netpulse_engine::command::Command;

    fn store() -> (tempfile::TempDir, StateStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = sled::open(dir.path()).expect("sled");
        (dir, StateStore::open(&db).expect("store"))
    }

    #[test]
    fn api_key_verification() {
        let (_d, s) = store();
        let (key, rec) = new_api_key("admin", Role::Admin, 1);
        s.apply(&Command::CreateApiKey(rec.clone()), 1)
            .expect("apply");
        assert_eq!(verify_api_key(&s, &key).expect("valid").id, rec.id);
        let mut wrong = key.clone();
        wrong.pop();
        wrong.push(if key.ends_with('0') { '1' } else { '0' });
        assert!(matches!(
            verify_api_key(&s, &wrong),
            Err(AuthError::Invalid)
        ));
        assert!(matches!(
            verify_api_key(&s, "Bearer x"),
            Err(AuthError::Malformed)
        ));
        assert!(matches!(verify_api_key(&s, ""), Err(AuthError::Malformed)));
    }

    #[test]
    fn join_token_expiry_and_revocation() {
        let (_d, s) = store();
        let (tok, rec) = new_join_token(&"ab".repeat(32), "t", 1_000, 10_000);
        s.apply(&Command::CreateJoinToken(rec.clone()), 1)
            .expect("apply");
        let t = tok.to_string();
        assert!(verify_join_token(&s, &t, 2_000).is_ok());
        assert!(matches!(
            verify_join_token(&s, &t, 11_000),
            Err(AuthError::Expired)
        ));
        let mut other = tok.clone();
        other.secret = "00".repeat(16);
        assert!(matches!(
            verify_join_token(&s, &other.to_string(), 2_000),
            Err(AuthError::Invalid)
        ));
        s.apply(&Command::RevokeJoinToken { id: rec.id }, 2)
            .expect("apply");
        assert!(matches!(
            verify_join_token(&s, &t, 2_000),
            Err(AuthError::Revoked)
        ));
    }
}
