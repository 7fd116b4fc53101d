//! Webhooks as the Standard Webhooks specification defines them: each project
//! signs with its own secret (`secret`), every delivery carries `webhook-id`,
//! `webhook-timestamp` and `webhook-signature` (`signing`).

pub mod secret;
pub mod signing;

pub use secret::{SecretError, WebhookSecret};
pub use signing::{sign, SignedHeaders};
