//! Secrets at rest (provider keys): sealed with XChaCha20-Poly1305 under a
//! keyring from `DE_SECRET_KEYS`, `id:base64-32-bytes` pairs separated by
//! commas, the first the one that seals. A sealed value is
//! `v1.<key id>.<base64(nonce ‖ ciphertext ‖ tag)>`, with a random 192-bit
//! nonce; the associated data names the row and column it belongs to, so a
//! ciphertext copied to another row does not open. Older keys stay in the
//! ring to open what they sealed until `electrons admin rotate-secrets`
//! seals it again under the first.

use std::{collections::HashMap, fmt};

use base64::{engine::general_purpose::STANDARD, Engine};
use chacha20poly1305::{
    aead::{Aead, Generate, KeyInit, Payload},
    Key, XChaCha20Poly1305, XNonce,
};

use crate::secret::Secret;

const VERSION: &str = "v1";
const NONCE_BYTES: usize = 24;

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum KeyringError {
    #[error("DE_SECRET_KEYS: {0}")]
    Config(String),
    #[error("not a sealed value")]
    Malformed,
    #[error("sealed under key {0:?}, which the keyring does not hold")]
    UnknownKey(String),
    #[error("does not open: a wrong key, another row's value, or tampered with")]
    Tampered,
}

#[derive(Clone)]
pub struct Keyring {
    current: String,
    keys: HashMap<String, XChaCha20Poly1305>,
    /// What it was parsed from, to hand to a child process.
    source: Secret,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<&String> = self.keys.keys().collect();
        ids.sort();
        f.debug_struct("Keyring")
            .field("current", &self.current)
            .field("ids", &ids)
            .finish()
    }
}

impl Keyring {
    /// `id:base64key,…`; the first seals.
    pub fn parse(value: &str) -> Result<Self, KeyringError> {
        let mut current = None;
        let mut keys = HashMap::new();
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, key) = entry
                .split_once(':')
                .ok_or_else(|| KeyringError::Config("each key is `id:base64`".into()))?;
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(KeyringError::Config(format!(
                    "key id {id:?} must be letters, digits, '-' or '_'"
                )));
            }
            let bytes = STANDARD
                .decode(key)
                .map_err(|_| KeyringError::Config(format!("key {id:?} is not base64")))?;
            let key = Key::try_from(bytes.as_slice())
                .map_err(|_| KeyringError::Config(format!("key {id:?} must be 32 bytes")))?;
            if keys.insert(id.to_string(), XChaCha20Poly1305::new(&key)).is_some() {
                return Err(KeyringError::Config(format!("key id {id:?} appears twice")));
            }
            current.get_or_insert_with(|| id.to_string());
        }
        let current = current.ok_or_else(|| KeyringError::Config("holds no key".into()))?;
        Ok(Self {
            current,
            keys,
            source: Secret::new(value),
        })
    }

    /// A new random key in the `DE_SECRET_KEYS` form, for `id`.
    pub fn generate_entry(id: &str) -> String {
        let key = Key::generate();
        format!("{id}:{}", STANDARD.encode(key.as_slice()))
    }

    /// The `DE_SECRET_KEYS` value this keyring was read from.
    pub fn env_value(&self) -> &Secret {
        &self.source
    }

    /// The id of the key that seals.
    pub fn current(&self) -> &str {
        &self.current
    }

    pub fn seal(&self, secret: &Secret, bound_to: &str) -> String {
        let cipher = &self.keys[&self.current];
        let nonce = XNonce::generate();
        let payload = Payload {
            msg: secret.expose().as_bytes(),
            aad: bound_to.as_bytes(),
        };
        // Encrypting into a Vec only fails on lengths no secret has.
        let sealed = cipher.encrypt(&nonce, payload).unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!("{VERSION}.{}.{}", self.current, STANDARD.encode(bytes))
    }

    pub fn open(&self, sealed: &str, bound_to: &str) -> Result<Secret, KeyringError> {
        let (id, bytes) = parts(sealed)?;
        let cipher = self.keys.get(id).ok_or_else(|| KeyringError::UnknownKey(id.into()))?;
        if bytes.len() <= NONCE_BYTES {
            return Err(KeyringError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let nonce = XNonce::try_from(nonce).map_err(|_| KeyringError::Malformed)?;
        let payload = Payload {
            msg: ciphertext,
            aad: bound_to.as_bytes(),
        };
        let plain = cipher.decrypt(&nonce, payload).map_err(|_| KeyringError::Tampered)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| KeyringError::Tampered)
    }

    /// Whether `sealed` is sealed under the key that seals now.
    pub fn is_current(&self, sealed: &str) -> bool {
        parts(sealed).is_ok_and(|(id, _)| id == self.current)
    }
}

fn parts(sealed: &str) -> Result<(&str, Vec<u8>), KeyringError> {
    let mut parts = sealed.splitn(3, '.');
    let (Some(VERSION), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(KeyringError::Malformed);
    };
    let bytes = STANDARD.decode(body).map_err(|_| KeyringError::Malformed)?;
    Ok((id, bytes))
}

/// The last four characters, all a secret ever shows of itself.
pub fn last4(secret: &Secret) -> String {
    let chars: Vec<char> = secret.expose().chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(entries: &[&str]) -> Keyring {
        Keyring::parse(&entries.join(",")).expect("keyring")
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_row_and_never_shows() {
        let first = Keyring::generate_entry("k1");
        let keyring = ring(&[&first]);
        let secret = Secret::new("sk-live-abcdef123456");
        let sealed = keyring.seal(&secret, "providers.api_key:openai");
        assert!(sealed.starts_with("v1.k1."), "{sealed}");
        assert!(!sealed.contains("abcdef"), "{sealed}");
        assert_ne!(
            sealed,
            keyring.seal(&secret, "providers.api_key:openai"),
            "fresh nonces"
        );
        assert_eq!(
            keyring
                .open(&sealed, "providers.api_key:openai")
                .map(|s| s.expose().to_owned()),
            Ok("sk-live-abcdef123456".into())
        );
        assert_eq!(
            keyring.open(&sealed, "providers.api_key:other").err(),
            Some(KeyringError::Tampered)
        );
        let mut tampered = sealed.clone();
        tampered.replace_range(tampered.len() - 3.., "AAA");
        assert!(keyring.open(&tampered, "providers.api_key:openai").is_err());
        assert_eq!(last4(&secret), "3456");
        assert!(!format!("{keyring:?}").contains(first.split(':').nth(1).unwrap_or("?")));
    }

    #[test]
    fn rotation_keeps_old_keys_opening_until_sealed_again() {
        let (old, new) = (Keyring::generate_entry("old"), Keyring::generate_entry("new"));
        let before = ring(&[&old]);
        let sealed = before.seal(&Secret::new("secret"), "row");
        let after = ring(&[&new, &old]);
        assert!(!after.is_current(&sealed));
        assert_eq!(
            after.open(&sealed, "row").map(|s| s.expose().to_owned()),
            Ok("secret".into())
        );
        let resealed = after.seal(&Secret::new("secret"), "row");
        assert!(after.is_current(&resealed));
        assert_eq!(
            before.open(&resealed, "row").err(),
            Some(KeyringError::UnknownKey("new".into()))
        );
    }

    #[test]
    fn a_bad_keyring_is_refused_with_what_is_wrong() {
        for (value, says) in [
            ("", "holds no key"),
            ("k1", "id:base64"),
            ("k1:not base64!", "not base64"),
            ("k1:c2hvcnQ=", "32 bytes"),
            ("bad id:c2hvcnQ=", "letters"),
        ] {
            match Keyring::parse(value) {
                Err(KeyringError::Config(message)) => assert!(message.contains(says), "{value}: {message}"),
                other => panic!("{value}: {other:?}"),
            }
        }
        let entry = Keyring::generate_entry("k1");
        assert!(matches!(
            Keyring::parse(&format!("{entry},{entry}")),
            Err(KeyringError::Config(_))
        ));
    }
}
