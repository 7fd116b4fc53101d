//! Workers run jobs. A worker consumes the queues of its modalities and, for each
//! message: claims the job (a duplicate or stale message claims nothing), takes a
//! token from the provider's bucket, calls the provider, commits the outcome and
//! only then acks (invariants 2–4). Workers keep no state of their own: kill one
//! and the broker redelivers, or the scheduler rescues the expired lease.
//!
//! `consumer` owns the broker side, `runner` one job's journey, `outcome` how a
//! result becomes the job's next state, and `text/` the text providers.

mod batches;
mod consumer;
mod outcome;
mod provider_call;
mod rate_limit_headers;
mod runner;
pub mod text;

use std::sync::Arc;

use electrons_domain::{catalog::CatalogHandle, config::Settings, limiter::Limiter, retry::RetryPolicy, Shutdown};
use sqlx::PgPool;

pub use provider_call::ProviderError;

/// What every job run shares within one worker process.
pub struct WorkerContext {
    pub pool: PgPool,
    pub(crate) batches: batches::Batches,
    pub catalog: CatalogHandle,
    pub limiter: Limiter,
    pub http: reqwest::Client,
    pub retry: RetryPolicy,
    pub settings: Settings,
}

impl WorkerContext {
    pub fn new(settings: &Settings, pool: PgPool, catalog: CatalogHandle) -> Self {
        let http = reqwest::Client::builder()
            .user_agent(concat!("distributed-electrons/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(1024)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            batches: batches::Batches::start(&pool),
            limiter: Limiter::new(pool.clone(), settings.worker.max_token_wait),
            pool,
            catalog,
            http,
            retry: RetryPolicy::new(&settings.jobs),
            settings: settings.clone(),
        }
    }
}

/// Consumes until `shutdown`, then finishes in-flight jobs (up to the grace period)
/// and returns.
pub async fn run(context: WorkerContext, shutdown: Shutdown) {
    consumer::run(Arc::new(context), shutdown).await
}
