//! Signing one delivery: HMAC-SHA256 of `"{webhook-id}.{webhook-timestamp}.{body}"`
//! under each active secret, sent as `v1,<base64>` entries separated by spaces
//! (several while a secret is being rotated, so receivers holding either the old
//! or the new secret verify).

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::WebhookSecret;

/// The three headers of a Standard Webhooks delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHeaders {
    /// The same on every attempt of one event, so receivers can drop repeats.
    pub id: String,
    /// Unix seconds of this attempt.
    pub timestamp: i64,
    pub signature: String,
}

pub fn sign(id: &str, timestamp: i64, body: &[u8], secrets: &[WebhookSecret]) -> SignedHeaders {
    let signature = secrets
        .iter()
        .map(|secret| {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.key()).expect("HMAC takes keys of any length");
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
        })
        .collect::<Vec<_>>()
        .join(" ");
    SignedHeaders {
        id: id.to_string(),
        timestamp,
        signature,
    }
}

#[cfg(test)]
mod tests {
    //! Checked against `standardwebhooks`, the specification's own Rust
    //! library, rather than against this module's idea of the format.

    use http::{HeaderMap, HeaderValue};
    use standardwebhooks::Webhook;

    use super::*;

    fn headers(signed: &SignedHeaders) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = |v: String| HeaderValue::from_str(&v).expect("header value");
        headers.insert("webhook-id", value(signed.id.clone()));
        headers.insert("webhook-timestamp", value(signed.timestamp.to_string()));
        headers.insert("webhook-signature", value(signed.signature.clone()));
        headers
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn the_reference_library_verifies_our_signature() {
        let secret = WebhookSecret::generate();
        let body = br#"{"id":"job_1","status":"succeeded"}"#;
        let signed = sign("msg_1", now(), body, std::slice::from_ref(&secret));
        let verifier = Webhook::new(&secret.expose()).expect("verifier");
        verifier.verify(body, &headers(&signed)).expect("verifies");
    }

    #[test]
    fn during_rotation_either_secret_verifies() {
        let (old, new) = (WebhookSecret::generate(), WebhookSecret::generate());
        let body = b"{}";
        let signed = sign("msg_2", now(), body, &[new.clone(), old.clone()]);
        assert_eq!(signed.signature.split(' ').count(), 2);
        for secret in [old, new] {
            let verifier = Webhook::new(&secret.expose()).expect("verifier");
            verifier.verify(body, &headers(&signed)).expect("verifies");
        }
    }

    #[test]
    fn the_reference_library_rejects_tampering_and_old_timestamps() {
        let secret = WebhookSecret::generate();
        let verifier = Webhook::new(&secret.expose()).expect("verifier");
        let signed = sign("msg_3", now(), b"{\"a\":1}", std::slice::from_ref(&secret));
        assert!(verifier.verify(b"{\"a\":2}", &headers(&signed)).is_err());
        let stale = sign("msg_3", now() - 3600, b"{\"a\":1}", std::slice::from_ref(&secret));
        assert!(verifier.verify(b"{\"a\":1}", &headers(&stale)).is_err());
        let stranger = WebhookSecret::generate();
        let verifier = Webhook::new(&stranger.expose()).expect("verifier");
        assert!(verifier.verify(b"{\"a\":1}", &headers(&signed)).is_err());
    }
}
