//! Webhooks as the Standard Webhooks specification defines them: each project
//! signs with its own secret (`secret`), every delivery carries `webhook-id`,
//! `webhook-timestamp` and `webhook-signature` (`signing`). A job's event is
//! handed to delivery by `announcer`, retried on `schedule`, and only ever sent
//! to addresses `address_guard` admits.

pub mod address_guard;
pub mod announcer;
pub mod schedule;
pub mod secret;
pub mod signing;

pub use address_guard::{AddressGuard, Refusal};
pub use announcer::Announcer;
pub use secret::{SecretError, WebhookSecret};
pub use signing::{sign, SignedHeaders};
