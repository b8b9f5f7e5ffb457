//! Join tokens: `np1.<id>.<secret>.<ca-fingerprint>`.
//!
//! The id names the token in the coordinator's state (where only a hash of the secret is kept);
//! the fingerprint lets a new node verify the coordinator before it has any certificate, the way
//! `kubeadm join --discovery-token-ca-cert-hash` does. A token is therefore safe to pass through
//! cloud-init: an attacker in the path cannot impersonate the coordinator.

use std::fmt;
use std::str::FromStr;

const PREFIX: &str = "np1";

/// A parsed join token.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinToken {
    /// Public id, 16 hex chars.
    pub id: String,
    /// Secret, 32+ hex chars.
    pub secret: String,
    /// SHA-256 of the cluster CA certificate, 64 hex chars.
    pub ca_fingerprint: String,
}

/// Why a string is not a join token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed join token: {0}")]
pub struct TokenError(&'static str);

fn is_hex(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl FromStr for JoinToken {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.trim().split('.');
        if parts.next() != Some(PREFIX) {
            return Err(TokenError("expected prefix np1"));
        }
        let (Some(id), Some(secret), Some(fp), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError("expected four dot-separated parts"));
        };
        if !is_hex(id, 16, 16) {
            return Err(TokenError("id must be 16 lower-case hex chars"));
        }
        if !is_hex(secret, 32, 128) {
            return Err(TokenError("secret must be 32-128 lower-case hex chars"));
        }
        if !is_hex(fp, 64, 64) {
            return Err(TokenError("CA fingerprint must be 64 lower-case hex chars"));
        }
        Ok(Self {
            id: id.into(),
            secret: secret.into(),
            ca_fingerprint: fp.into(),
        })
    }
}

impl fmt::Display for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}.{}.{}.{}",
            self.id, self.secret, self.ca_fingerprint
        )
    }
}

impl fmt::Debug for JoinToken {
    /// Never prints the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinToken")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let t = JoinToken {
            id: "0123456789abcdef".into(),
            secret: "ab".repeat(16),
            ca_fingerprint: "cd".repeat(32),
        };
        let s = t.to_string();
        assert_eq!(s.parse::<JoinToken>(), Ok(t.clone()));
        assert!(!format!("{t:?}").contains(&t.secret));
        for bad in [
            "",
            "np1",
            "np2.0123456789abcdef.aa.bb",
            &s.replace("np1.", "np1.x"),
            &format!("{s}.x"),
        ] {
            assert!(bad.parse::<JoinToken>().is_err(), "{bad}");
        }
    }
}
