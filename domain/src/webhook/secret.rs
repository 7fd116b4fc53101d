//! A project's webhook signing secret: `whsec_` followed by the base64 of 24 to
//! 64 random bytes, as the Standard Webhooks specification recommends. The key
//! is the decoded bytes; the string form is what clients copy into their
//! verifier. `Debug` never shows it.

use std::fmt;

use base64::{engine::general_purpose::STANDARD, Engine};
use rand::RngCore;

const PREFIX: &str = "whsec_";
const MIN_BYTES: usize = 24;
const MAX_BYTES: usize = 64;
/// What a new secret holds: the spec's recommended 32 bytes of randomness.
const NEW_BYTES: usize = 32;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("a webhook secret starts with `whsec_`")]
    Prefix,
    #[error("a webhook secret is base64 after `whsec_`")]
    Encoding,
    #[error("a webhook secret holds 24 to 64 bytes, not {0}")]
    Length(usize),
}

#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl WebhookSecret {
    pub fn generate() -> Self {
        let mut key = vec![0u8; NEW_BYTES];
        rand::rng().fill_bytes(&mut key);
        Self { key }
    }

    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text.strip_prefix(PREFIX).ok_or(SecretError::Prefix)?;
        let key = STANDARD.decode(encoded).map_err(|_| SecretError::Encoding)?;
        if !(MIN_BYTES..=MAX_BYTES).contains(&key.len()) {
            return Err(SecretError::Length(key.len()));
        }
        Ok(Self { key })
    }

    /// The `whsec_…` form clients configure their verifiers with.
    pub fn expose(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.key))
    }

    pub(super) fn key(&self) -> &[u8] {
        &self.key
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_round_trip_and_differ() {
        let secret = WebhookSecret::generate();
        let text = secret.expose();
        assert!(text.starts_with("whsec_"));
        assert_eq!(WebhookSecret::parse(&text), Ok(secret.clone()));
        assert_ne!(WebhookSecret::generate(), secret);
        assert_eq!(format!("{secret:?}"), "WebhookSecret(***)");
    }

    #[test]
    fn refuses_what_is_not_a_secret() {
        assert_eq!(WebhookSecret::parse("sk_abc"), Err(SecretError::Prefix));
        assert_eq!(WebhookSecret::parse("whsec_***"), Err(SecretError::Encoding));
        let short = format!("whsec_{}", STANDARD.encode([7u8; 16]));
        assert_eq!(WebhookSecret::parse(&short), Err(SecretError::Length(16)));
        let long = format!("whsec_{}", STANDARD.encode([7u8; 65]));
        assert_eq!(WebhookSecret::parse(&long), Err(SecretError::Length(65)));
    }
}
