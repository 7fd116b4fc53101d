//! What a generated API key looks like: `de_live_` or `de_test_`, then 32
//! random bytes in base62, then a 6-character base62 CRC-32 of what precedes it
//! — the shape GitHub's tokens use, so secret scanners can recognise a key
//! (prefix) and tell a real one from a look-alike (checksum) without asking DE.

use rand::RngCore;

use crate::secret::Secret;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// 32 bytes (256 bits) take 43 base62 digits; always written at that width.
const BODY_CHARS: usize = 43;
const CHECKSUM_CHARS: usize = 6;
/// How much of a key is kept in the clear to tell keys apart in lists: the
/// prefix and the first four random characters.
pub const SHOWN_PREFIX_CHARS: usize = 12;

/// Live keys act on real providers; test keys are for tests and staging (the
/// prefix alone says which, so a leaked test key is known to be harmless).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyEnvironment {
    Live,
    Test,
}

impl KeyEnvironment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Test => "test",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "live" => Some(Self::Live),
            "test" => Some(Self::Test),
            _ => None,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Self::Live => "de_live_",
            Self::Test => "de_test_",
        }
    }
}

/// What a user's admin token starts with (same shape as a key: the prefix,
/// 32 random bytes, a checksum), so scanners tell it from a project's key.
pub const USER_TOKEN_PREFIX: &str = "de_user_";

/// A fresh key: shown to its owner once, then only its hash is kept.
pub fn generate(environment: KeyEnvironment) -> Secret {
    generate_with(environment.prefix())
}

/// A fresh user token, shown once like a key.
pub fn generate_user_token() -> Secret {
    generate_with(USER_TOKEN_PREFIX)
}

/// Whether `token` is a well-formed user token (checksum included).
pub fn is_user_token(token: &str) -> bool {
    token.starts_with(USER_TOKEN_PREFIX) && well_formed(token)
}

fn generate_with(prefix: &str) -> Secret {
    let mut random = [0u8; 32];
    rand::rng().fill_bytes(&mut random);
    let mut key = String::with_capacity(8 + BODY_CHARS + CHECKSUM_CHARS);
    key.push_str(prefix);
    key.push_str(&base62(&random, BODY_CHARS));
    let checksum = crc32fast::hash(key.as_bytes());
    key.push_str(&base62(&checksum.to_be_bytes(), CHECKSUM_CHARS));
    Secret::new(key)
}

/// Whether `key` has the generated shape and its checksum holds. Keys made
/// before generated keys (the bootstrap key, tests') have neither; they are
/// still looked up.
pub fn is_generated(key: &str) -> bool {
    environment_of(key).is_some()
}

/// Whether `key` starts like a generated key (whether or not it is one).
pub fn looks_generated(key: &str) -> bool {
    [KeyEnvironment::Live, KeyEnvironment::Test]
        .into_iter()
        .any(|e| key.starts_with(e.prefix()))
}

/// The environment a well-formed generated key names.
pub fn environment_of(key: &str) -> Option<KeyEnvironment> {
    let environment = [KeyEnvironment::Live, KeyEnvironment::Test]
        .into_iter()
        .find(|e| key.starts_with(e.prefix()))?;
    well_formed(key).then_some(environment)
}

/// An 8-character prefix, the body's width and a checksum that holds.
fn well_formed(key: &str) -> bool {
    let Some((signed, checksum)) = key
        .len()
        .checked_sub(CHECKSUM_CHARS)
        .and_then(|at| key.split_at_checked(at))
    else {
        return false;
    };
    key.len() == 8 + BODY_CHARS + CHECKSUM_CHARS
        && key.bytes().skip(8).all(|b| b.is_ascii_alphanumeric())
        && base62(&crc32fast::hash(signed.as_bytes()).to_be_bytes(), CHECKSUM_CHARS) == checksum
}

/// The part of a key that may be shown: enough to tell it apart, nothing to use.
pub fn shown_prefix(key: &str) -> String {
    key.chars().take(SHOWN_PREFIX_CHARS).collect()
}

/// `bytes` as a big-endian number in base62, left-padded with zeros to `width`.
fn base62(bytes: &[u8], width: usize) -> String {
    let mut number = bytes.to_vec();
    let mut digits = Vec::with_capacity(width);
    while number.iter().any(|&b| b != 0) {
        let mut remainder = 0u32;
        for byte in number.iter_mut() {
            let value = (remainder << 8) | u32::from(*byte);
            *byte = (value / 62) as u8;
            remainder = value % 62;
        }
        digits.push(ALPHABET[remainder as usize]);
    }
    digits.resize(width.max(digits.len()), b'0');
    digits.reverse();
    String::from_utf8_lossy(&digits).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_tokens_are_told_from_keys() {
        let token = generate_user_token();
        let token = token.expose();
        assert!(token.starts_with("de_user_") && is_user_token(token), "{token}");
        assert!(!is_generated(token), "not a project's key");
        let mut bent = token.to_string();
        bent.replace_range(10..11, if &token[10..11] == "A" { "B" } else { "A" });
        assert!(!is_user_token(&bent));
        assert!(!is_user_token(generate(KeyEnvironment::Live).expose()));
    }

    #[test]
    fn generated_keys_have_their_prefix_width_and_a_checksum_that_holds() {
        for environment in [KeyEnvironment::Live, KeyEnvironment::Test] {
            let key = generate(environment);
            let key = key.expose();
            assert!(key.starts_with(environment.prefix()), "{key}");
            assert_eq!(key.len(), 57, "{key}");
            assert_eq!(environment_of(key), Some(environment));
            assert_eq!(shown_prefix(key).len(), SHOWN_PREFIX_CHARS);
        }
        assert_ne!(generate(KeyEnvironment::Live), generate(KeyEnvironment::Live));
    }

    #[test]
    fn a_changed_character_breaks_the_checksum() {
        let key = generate(KeyEnvironment::Live);
        let key = key.expose();
        let mut changed: Vec<u8> = key.bytes().collect();
        changed[20] = if changed[20] == b'a' { b'b' } else { b'a' };
        let changed = String::from_utf8_lossy(&changed).into_owned();
        assert!(!is_generated(&changed));
        assert!(!is_generated(&key[..key.len() - 1]));
        assert!(!is_generated("de_live_short"));
        assert!(!is_generated("sk-something-else"));
        assert!(!is_generated(&key.replace("de_live_", "de_prod_")));
    }

    #[test]
    fn base62_is_a_big_endian_number() {
        assert_eq!(base62(&[0], 3), "000");
        assert_eq!(base62(&[61], 1), "z");
        assert_eq!(base62(&[62], 1), "10");
        assert_eq!(base62(&[1, 0], 2), "48"); // 256 = 4·62 + 8
        assert_eq!(base62(&[0xff; 32], 0).len(), BODY_CHARS);
    }
}
