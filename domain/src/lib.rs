//! The domain of Distributed Electrons, shared by every role: what a job is, how it
//! is stored and moves between states (PostgreSQL), how it travels (RabbitMQ
//! topology and messages), what may be run (the model catalog) and how fast
//! (provider token buckets). Roles live in their own crates and only orchestrate.

pub mod answer;
pub mod auth;
pub mod batch;
pub mod call_record;
pub mod catalog;
pub mod config;
pub mod db;
pub mod http_mapping;
pub mod ids;
pub mod input;
pub mod job;
pub mod job_view;
pub mod keyring;
pub mod limiter;
pub mod operation;
pub mod prediction;
pub mod pricing;
pub mod prometheus;
pub mod prompt_template;
pub mod queue;
pub mod retry;
pub mod secret;
pub mod storage;
pub mod trace_context;
pub mod usage;
pub mod webhook;

pub use tokio_util::sync::CancellationToken as Shutdown;
