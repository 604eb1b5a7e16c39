//! Encryption of OAuth tokens at rest (XChaCha20-Poly1305) and the key's loading or generation.

use std::path::Path;

use anyhow::{Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

/// The file, inside the data directory, that holds a generated key.
pub const KEY_FILE: &str = "token.key";

/// Encrypts and decrypts token strings; each ciphertext carries its own random nonce.
#[derive(Clone)]
pub struct TokenCipher {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher(..)")
    }
}

impl TokenCipher {
    /// A cipher from 32 raw key bytes.
    pub fn new(key: &[u8; 32]) -> TokenCipher {
        TokenCipher {
            cipher: XChaCha20Poly1305::new(Key::from_slice(key)),
        }
    }

    /// A cipher from a base64-encoded 32-byte key.
    pub fn from_base64(key: &str) -> Result<TokenCipher> {
        let bytes = STANDARD
            .decode(key.trim())
            .context("the token key is not valid base64")?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("the token key must be 32 bytes"))?;
        Ok(TokenCipher::new(&key))
    }

    /// The configured key, else the key file in `data_dir`, else a new key written there.
    ///
    /// Returns the cipher and whether a key was generated (the caller logs that).
    pub fn load_or_generate(
        configured: Option<&str>,
        data_dir: &Path,
    ) -> Result<(TokenCipher, bool)> {
        if let Some(key) = configured {
            return Ok((TokenCipher::from_base64(key)?, false));
        }
        let path = data_dir.join(KEY_FILE);
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            return Ok((TokenCipher::from_base64(&text)?, false));
        }
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        write_private(&path, &STANDARD.encode(key))?;
        Ok((TokenCipher::new(&key.into()), true))
    }

    /// Encrypts `plain` into base64(nonce ‖ ciphertext).
    pub fn encrypt(&self, plain: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(&nonce, plain.as_bytes())
            .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        STANDARD.encode(out)
    }

    /// Decrypts what [`TokenCipher::encrypt`] produced; fails on a wrong key or tampering.
    pub fn decrypt(&self, sealed: &str) -> Result<String> {
        let bytes = STANDARD
            .decode(sealed)
            .context("a stored token is not base64")?;
        anyhow::ensure!(bytes.len() > 24, "a stored token is too short");
        let (nonce, body) = bytes.split_at(24);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), body)
            .map_err(|_| {
                anyhow::anyhow!("a stored token does not decrypt with the configured key")
            })?;
        String::from_utf8(plain).context("a stored token is not UTF-8")
    }
}

/// Writes a secret file readable only by its owner (where the platform has permissions).
fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_each_ciphertext_differs() {
        let cipher = TokenCipher::new(&[7; 32]);
        let a = cipher.encrypt("access-token");
        let b = cipher.encrypt("access-token");
        assert_ne!(a, b);
        assert!(!a.contains("access-token"));
        assert_eq!(cipher.decrypt(&a).unwrap(), "access-token");
        assert_eq!(cipher.decrypt(&b).unwrap(), "access-token");
    }

    #[test]
    fn a_wrong_key_or_tampering_is_rejected() {
        let sealed = TokenCipher::new(&[1; 32]).encrypt("secret");
        assert!(TokenCipher::new(&[2; 32]).decrypt(&sealed).is_err());
        let mut bytes = STANDARD.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let cipher = TokenCipher::new(&[1; 32]);
        assert!(cipher.decrypt(&STANDARD.encode(bytes)).is_err());
        assert!(cipher.decrypt("short").is_err());
    }

    #[test]
    fn a_generated_key_is_kept_in_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let (first, generated) = TokenCipher::load_or_generate(None, dir.path()).unwrap();
        assert!(generated);
        let sealed = first.encrypt("x");
        let (second, generated) = TokenCipher::load_or_generate(None, dir.path()).unwrap();
        assert!(!generated);
        assert_eq!(second.decrypt(&sealed).unwrap(), "x");
        assert!(TokenCipher::from_base64("bm90IDMyIGJ5dGVz").is_err());
    }
}
