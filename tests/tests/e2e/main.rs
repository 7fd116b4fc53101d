//! End-to-end tests against real PostgreSQL and RabbitMQ. One binary, one module
//! per concern; every test starts its own app (own database, own queues).

mod api_keys;
mod audit;
mod billing;
mod broker_outage;
mod budgets;
mod cancel;
mod catalog_admin;
mod cli;
mod console;
mod crash;
mod duplicates;
mod fallbacks;
mod feedback;
mod http_provider;
mod idempotency;
mod isolation;
mod media;
mod metrics;
mod openai_compat;
mod openapi;
mod pipeline;
mod prompt_templates;
mod rate_limits;
mod replicate_compat;
mod retries;
mod roles;
mod schedulers;
mod shutdown;
mod stats;
mod storage;
mod streaming;
mod structured_output;
mod tenancy;
mod traces;
mod usage;
mod validation;
mod webhook_secrets;
mod webhooks;

/// The `electrons` program, built by this package, for tests that need a real process.
pub const ELECTRONS: &str = env!("CARGO_BIN_EXE_electrons-under-test");
