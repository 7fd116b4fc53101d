//! Webhook delivery, decoupled from the job workers: its own queue
//! (`<prefix>.webhooks`) and consumers. For each due delivery: claim it (a
//! duplicate or stale message claims nothing), render the job as it was when
//! the event happened, sign it (Standard Webhooks), POST it through a client
//! that only connects to admitted addresses, record the attempt and decide the
//! next step, then ack. A killed deliverer loses nothing: the unacked message
//! comes back, and the scheduler rescues the delivery when its lease runs out.
//!
//! `client` is the guarded HTTP client, `delivery` one delivery's journey,
//! `answer` how a receiver's response becomes the next step, `batches` the
//! grouped claims and records.

mod answer;
mod batches;
mod client;
mod delivery;

use std::sync::Arc;

use electrons_domain::{
    config::Settings,
    queue::{self, ConsumerSpec, Received, Topology},
    storage::ObjectStore,
    webhook::AddressGuard,
    Shutdown,
};
use sqlx::PgPool;

pub use client::guarded_client;

/// What every delivery shares within one process.
pub struct WebhookContext {
    pub pool: PgPool,
    pub settings: Settings,
    http: reqwest::Client,
    guard: AddressGuard,
    batches: batches::Batches,
    /// Makes the links to a job's files in the payload.
    store: ObjectStore,
}

impl WebhookContext {
    pub fn new(settings: &Settings, pool: PgPool, store: ObjectStore) -> Self {
        electrons_domain::prometheus::install(settings.metrics.enabled);
        let guard = AddressGuard::new(settings.webhooks.allowed_networks.clone());
        Self {
            http: guarded_client(guard.clone(), settings.webhooks.timeout),
            guard,
            batches: batches::Batches::start(&pool),
            store,
            pool,
            settings: settings.clone(),
        }
    }
}

/// Delivers until `shutdown`, then finishes the attempts in flight (up to the
/// grace period) and returns.
pub async fn run(context: WebhookContext, shutdown: Shutdown) {
    let settings = &context.settings;
    let spec = ConsumerSpec {
        role: "webhooks",
        queues: vec![Topology::new(&settings.broker).webhook_queue()],
        concurrency: settings.webhooks.concurrency,
        shutdown_grace: settings.worker.shutdown_grace.min(settings.webhooks.timeout * 2),
    };
    let broker = settings.broker.clone();
    let context = Arc::new(context);
    let handle = move |received: Received| {
        let context = context.clone();
        async move { delivery::handle(&context, &received.body).await }
    };
    queue::consume(broker, spec, handle, shutdown).await
}
