//! Composition of the roles into processes. `main.rs` parses the command line;
//! this library starts roles, so tests and the benchmark start exactly what the
//! binary starts.

pub mod admin;
pub mod bench;
pub mod bench_limits;
pub mod bench_openai;
pub mod bench_webhooks;
pub mod cli;
pub mod client;
pub mod demo;
pub mod limiter_load;
pub mod metrics_listener;
pub mod roles;
pub mod telemetry;
