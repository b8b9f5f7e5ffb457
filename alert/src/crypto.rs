//! Encryption of channel credentials at rest.
//!
//! Channel configurations hold secrets (webhook signing secrets, bot tokens, API keys, SMTP
//! passwords). The coordinator replicates its state through Raft into sled and into snapshots,
//! so a secret stored in clear would sit in every coordinator's data directory and in every
//! backup of it. Instead each configuration is sealed with one cluster-wide [`SecretKey`] that
//! is kept outside the replicated state (an environment variable or a 0600 file), so a copied
//! database alone reveals nothing.
//!
//! The sealed format is `v1.` followed by standard base64 of `nonce (12 bytes) || AES-256-GCM
//! ciphertext || tag (16 bytes)`. The nonce is random per seal; with 96-bit random nonces one
//! key is safe for far more seals (2^32) than a monitoring cluster will ever make. The version
//! prefix lets a later format (another cipher, associated data) coexist with stored values.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use aes_gcm::aead::Aead;
use aes_gcm::{Aes256Gcm, KeyInit};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rand::RngCore;

/// Prefix of every value produced by [`SecretKey::seal`]; names the format version.
pub const SEALED_PREFIX: &str = "v1.";

/// The environment variable that [`SecretKey::load`] is meant to be given; documented here so
/// the binary and the docs name the same thing.
pub const SECRET_KEY_ENV: &str = "NETPULSE_SECRET_KEY";

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Why a key could not be loaded or a sealed value could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The key text is not standard base64.
    #[error("secret key is not valid base64")]
    KeyEncoding,
    /// The key decoded to the wrong number of bytes (AES-256 needs 32).
    #[error("secret key must be 32 bytes, got {0}")]
    KeyLength(usize),
    /// Reading or creating the key file failed.
    #[error("secret key file {path}: {source}")]
    KeyFile {
        /// The file that was read or created.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// The key file does not exist and the caller did not allow creating it.
    #[error("secret key file {0} does not exist (set NETPULSE_SECRET_KEY or allow creating it)")]
    KeyMissing(PathBuf),
    /// The sealed value is not in the `v1.<base64>` format or is too short.
    #[error("sealed value is malformed: {0}")]
    Malformed(&'static str),
    /// Authentication failed: the value was sealed with another key or was altered.
    #[error("sealed value cannot be opened: wrong key or altered data")]
    Decrypt,
    /// The opened plaintext is not what the caller expected (for example invalid JSON).
    #[error("sealed value has unexpected content: {0}")]
    Content(String),
}

/// The 256-bit key that seals channel credentials.
///
/// `Debug` prints `SecretKey(..)` so the key never reaches a log line by accident.
#[derive(Clone)]
pub struct SecretKey([u8; KEY_LEN]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// A fresh random key from the operating system's CSPRNG (through `rand`'s thread RNG,
    /// which is seeded and periodically reseeded from it).
    pub fn generate() -> Self {
        let mut key = [0u8; KEY_LEN];
        rand::rng().fill_bytes(&mut key);
        Self(key)
    }

    /// Parses a key written as standard base64 (as printed by [`SecretKey::to_base64`]).
    /// Surrounding whitespace is ignored, so a file with a trailing newline or a padded
    /// environment variable works.
    pub fn from_base64(s: &str) -> Result<Self, CryptoError> {
        let bytes = STANDARD
            .decode(s.trim())
            .map_err(|_| CryptoError::KeyEncoding)?;
        let key: [u8; KEY_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::KeyLength(bytes.len()))?;
        Ok(Self(key))
    }

    /// The key as standard base64, the form used in the key file and in `NETPULSE_SECRET_KEY`.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Loads the cluster key.
    ///
    /// `env_value` (the value of `NETPULSE_SECRET_KEY`, if set) wins, so containers can inject
    /// the key without a file. Otherwise the key is read from `file`. If the file is missing and
    /// `create` is true, a fresh key is written there with mode 0600; the file appears
    /// atomically (written to a temporary file, then hard-linked into place), so a concurrent
    /// reader or creator never sees a partial key and two creators agree on one key.
    ///
    /// Every coordinator of a cluster must use the same key: configurations are sealed once and
    /// replicated to all of them.
    pub fn load(env_value: Option<&str>, file: &Path, create: bool) -> Result<Self, CryptoError> {
        if let Some(v) = env_value.filter(|v| !v.trim().is_empty()) {
            return Self::from_base64(v);
        }
        let file_err = |source: io::Error| CryptoError::KeyFile {
            path: file.to_path_buf(),
            source,
        };
        match fs::read_to_string(file) {
            Ok(text) => return Self::from_base64(&text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(file_err(e)),
        }
        if !create {
            return Err(CryptoError::KeyMissing(file.to_path_buf()));
        }
        let key = Self::generate();
        match write_new_key_file(file, &key) {
            Ok(()) => Ok(key),
            // Another process created it between our read and our link: use theirs.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let text = fs::read_to_string(file).map_err(file_err)?;
                Self::from_base64(&text)
            }
            Err(e) => Err(file_err(e)),
        }
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.0.into())
    }

    /// Encrypts and authenticates `plaintext`; returns `v1.<base64(nonce || ciphertext || tag)>`.
    ///
    /// Sealing the same plaintext twice gives different output (random nonce), so equal
    /// secrets cannot be spotted in the stored state.
    pub fn seal(&self, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        // AES-GCM only fails for plaintexts above 64 GiB, which no configuration approaches.
        let ciphertext = self
            .cipher()
            .encrypt(&nonce.into(), plaintext)
            .expect("AES-GCM plaintext limit is 64 GiB");
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        format!("{SEALED_PREFIX}{}", STANDARD.encode(out))
    }

    /// Decrypts a value produced by [`SecretKey::seal`].
    ///
    /// A value sealed under another key, or altered in any byte, fails with
    /// [`CryptoError::Decrypt`]; malformed input fails with [`CryptoError::Malformed`].
    /// Never panics on any input.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, CryptoError> {
        let body = sealed
            .trim()
            .strip_prefix(SEALED_PREFIX)
            .ok_or(CryptoError::Malformed("missing v1. prefix"))?;
        let raw = STANDARD
            .decode(body)
            .map_err(|_| CryptoError::Malformed("not base64"))?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Malformed("too short"));
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce
            .try_into()
            .map_err(|_| CryptoError::Malformed("too short"))?;
        self.cipher()
            .decrypt(&nonce.into(), ciphertext)
            .map_err(|_| CryptoError::Decrypt)
    }
}

/// Writes `key` to `file` so that the file, once visible, is complete and mode 0600.
fn write_new_key_file(file: &Path, key: &SecretKey) -> io::Result<()> {
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = file
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let _ = fs::remove_file(&tmp);

    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp)?;
        f.write_all(key.to_base64().as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        drop(f);
        // hard_link fails with AlreadyExists instead of replacing: never clobber a key that
        // already sealed data.
        fs::hard_link(&tmp, file)?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    let _ = fs::remove_file(&tmp);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip() {
        let key = SecretKey::generate();
        let sealed = key.seal(b"hunter2 and more");
        assert!(sealed.starts_with("v1."));
        assert_eq!(key.open(&sealed).unwrap(), b"hunter2 and more");
        // Random nonce: same plaintext seals differently.
        assert_ne!(sealed, key.seal(b"hunter2 and more"));
        // Empty plaintext works too.
        assert_eq!(key.open(&key.seal(b"")).unwrap(), b"");
    }

    #[test]
    fn wrong_key_fails() {
        let sealed = SecretKey::generate().seal(b"secret");
        let err = SecretKey::generate().open(&sealed).unwrap_err();
        assert!(matches!(err, CryptoError::Decrypt), "{err:?}");
    }

    #[test]
    fn every_altered_byte_fails() {
        let key = SecretKey::generate();
        let sealed = key.seal(b"secret value");
        let raw = STANDARD.decode(&sealed[3..]).unwrap();
        for i in 0..raw.len() {
            let mut bad = raw.clone();
            bad[i] ^= 0x01;
            let text = format!("v1.{}", STANDARD.encode(&bad));
            assert!(
                matches!(key.open(&text), Err(CryptoError::Decrypt)),
                "byte {i}"
            );
        }
        // Truncation (dropping the tag's last byte) fails as well.
        let text = format!("v1.{}", STANDARD.encode(&raw[..raw.len() - 1]));
        assert!(key.open(&text).is_err());
    }

    #[test]
    fn malformed_inputs_error_without_panic() {
        let key = SecretKey::generate();
        for bad in ["", "v1.", "v2.AAAA", "v1.!!!", "v1.AAAA", "plain", "v1.ÿÿ"] {
            assert!(
                matches!(key.open(bad), Err(CryptoError::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn base64_round_trip_and_validation() {
        let key = SecretKey::generate();
        let text = key.to_base64();
        let again = SecretKey::from_base64(&format!("  {text}\n")).unwrap();
        assert_eq!(again.0, key.0);
        assert!(matches!(
            SecretKey::from_base64("not base64!"),
            Err(CryptoError::KeyEncoding)
        ));
        assert!(matches!(
            SecretKey::from_base64(&STANDARD.encode([0u8; 16])),
            Err(CryptoError::KeyLength(16))
        ));
    }

    #[test]
    fn debug_hides_key() {
        assert_eq!(format!("{:?}", SecretKey::generate()), "SecretKey(..)");
    }

    #[test]
    fn load_prefers_env_then_file_and_creates_0600() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret.key");

        assert!(matches!(
            SecretKey::load(None, &file, false),
            Err(CryptoError::KeyMissing(_))
        ));

        let created = SecretKey::load(None, &file, true).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Reloading gives the same key; no temp file is left behind.
        let again = SecretKey::load(None, &file, true).unwrap();
        assert_eq!(created.0, again.0);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        // The environment wins over the file.
        let other = SecretKey::generate();
        let from_env = SecretKey::load(Some(&other.to_base64()), &file, true).unwrap();
        assert_eq!(from_env.0, other.0);
        // An empty variable counts as unset.
        let blank = SecretKey::load(Some("  "), &file, false).unwrap();
        assert_eq!(blank.0, created.0);
        // A bad variable is an error, not a silent fallback to the file.
        assert!(SecretKey::load(Some("short"), &file, true).is_err());
    }

    #[test]
    fn load_rejects_corrupt_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret.key");
        fs::write(&file, "AAAA\n").unwrap();
        assert!(matches!(
            SecretKey::load(None, &file, true),
            Err(CryptoError::KeyLength(3))
        ));
    }
}
