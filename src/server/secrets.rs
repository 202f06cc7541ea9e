//! Secrets and tokens: generated from the OS's CSPRNG, sealed at rest with
//! ChaCha20-Poly1305 under the server key, never logged.
//!
//! The key comes from `SIGNPOST_SECRET_KEY` (base64 of 32 bytes) or, when
//! that is unset, from a key file created (mode 0600) on first start.

use anyhow::{bail, Context};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
    /// SHA-256 of a fixed label and the key, hex: tells keys apart
    /// without saying anything about them.
    fingerprint: Arc<str>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn from_key(key: &[u8; 32]) -> Self {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"signpost secret key fingerprint\0");
        h.update(key);
        SecretBox {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
            fingerprint: hex::encode(h.finalize()).into(),
        }
    }

    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The key from `base64` if given, else from `key_file` (created if absent).
    pub fn load(base64: Option<&str>, key_file: &Path) -> anyhow::Result<Self> {
        let key = match base64 {
            Some(b64) => decode_key(b64).context("SIGNPOST_SECRET_KEY")?,
            None => read_or_create_key_file(key_file)?,
        };
        Ok(SecretBox::from_key(&key))
    }

    /// `nonce || ciphertext`.
    pub fn seal(&self, plaintext: &str) -> Vec<u8> {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        out.extend(
            self.cipher
                .encrypt(&nonce, plaintext.as_bytes())
                .expect("ChaCha20-Poly1305 encryption does not fail for small inputs"),
        );
        out
    }

    pub fn open(&self, sealed: &[u8]) -> anyhow::Result<String> {
        if sealed.len() < NONCE_LEN {
            bail!("sealed secret is too short");
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| {
                anyhow::anyhow!(
                    "a stored secret does not open with this key (wrong SIGNPOST_SECRET_KEY?)"
                )
            })?;
        Ok(String::from_utf8(plain)?)
    }
}

fn decode_key(b64: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = B64.decode(b64.trim()).context("not valid base64")?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| anyhow::anyhow!("must decode to 32 bytes, not {}", b.len()))
}

fn read_or_create_key_file(path: &Path) -> anyhow::Result<[u8; 32]> {
    match std::fs::read_to_string(path) {
        Ok(text) => decode_key(&text).with_context(|| format!("key file {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = random_32();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(path)
                .with_context(|| format!("creating key file {}", path.display()))?;
            writeln!(file, "{}", B64.encode(key))?;
            tracing::info!("created secret key file {}", path.display());
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading key file {}", path.display())),
    }
}

/// 32 bytes from the operating system's CSPRNG.
fn random_32() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// 32 random bytes as 64 lowercase hex characters: the `spectrum-v0`
/// signing secret format, and the project secret's.
pub fn random_hex() -> String {
    hex::encode(random_32())
}

/// SHA-256 of a high-entropy token (project secret, sign-in link): enough
/// to store it, since such a token cannot be guessed (argon2 is for passwords).
pub fn hash_token(token: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes()).to_vec()
}

/// `spectrum-v0`: 64 lowercase hex characters (32 random bytes).
pub fn new_spectrum_secret() -> String {
    random_hex()
}

/// `standard-webhooks`: `whsec_` + base64 of 32 random bytes.
pub fn new_standard_secret() -> String {
    format!("whsec_{}", B64.encode(random_32()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_and_detect_tampering() {
        let b = SecretBox::from_key(&[7; 32]);
        let sealed = b.seal("top secret");
        assert!(!sealed.windows(10).any(|w| w == b"top secret"));
        assert_eq!(b.open(&sealed).unwrap(), "top secret");
        let mut bad = sealed.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(b.open(&bad).is_err());
        assert!(SecretBox::from_key(&[8; 32]).open(&sealed).is_err());
    }

    #[test]
    fn key_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let sealed = SecretBox::load(None, &path).unwrap().seal("x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Loading again reads the same key.
        assert_eq!(
            SecretBox::load(None, &path).unwrap().open(&sealed).unwrap(),
            "x"
        );
        assert!(SecretBox::load(Some("c2hvcnQ="), &path).is_err());
    }

    #[test]
    fn secret_formats() {
        let s = new_spectrum_secret();
        assert_eq!(s.len(), 64);
        assert!(s.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        let w = new_standard_secret();
        assert!(w.starts_with("whsec_"));
        assert_eq!(B64.decode(&w[6..]).unwrap().len(), 32);
    }
}
