//! Workers run jobs. A worker consumes the queues of its modalities and, for each
//! message: claims the job (a duplicate or stale message claims nothing), takes a
//! token from the provider's bucket, calls the provider, commits the outcome and
//! only then acks (invariants 2–4). Workers keep no state of their own: kill one
//! and the broker redelivers, or the scheduler rescues the expired lease.
//!
//! The broker side is `electrons_domain::queue::consume`; `runner` is one job's
//! journey and `polling` one poll of a provider operation a job waits on;
//! `produce` makes the call with the model's adapter from `registry` (the
//! trait is in `adapter`) — `text/`, `image/`, `audio/`, `media/`, `video/`,
//! one file per provider; a billed answer with outputs is committed
//! and then copied (`copying`, with `outputs` and `download`) into storage;
//! `outcome` turns a result into the job's next state (and announces its
//! webhook event), `calls` records each provider call in the job's metrics.

mod adapter;
mod audio;
mod batches;
mod budget;
mod calls;
mod copying;
mod deltas;
mod download;
mod fallbacks;
mod generic_http;
mod image;
mod limits;
mod media;
mod outcome;
mod outputs;
mod polling;
mod produce;
mod provider_call;
mod rate_limit_headers;
mod registry;
mod runnable;
mod runner;
mod structured;
mod text;
mod video;

use std::sync::Arc;

use electrons_domain::{
    catalog::CatalogHandle,
    config::Settings,
    limiter::Limiter,
    queue::{self, ConsumerSpec, Disposition, JobMessage, Publisher, Received, Topology},
    retry::RetryPolicy,
    storage::ObjectStore,
    trace_context,
    webhook::Announcer,
    Shutdown,
};
use sqlx::PgPool;
use tracing::Instrument;

pub use batches::{BatchError, Batches};
pub use provider_call::ProviderError;

/// What every job run shares within one worker process.
pub struct WorkerContext {
    pub pool: PgPool,
    pub(crate) batches: batches::Batches,
    pub catalog: CatalogHandle,
    pub limiter: Limiter,
    pub http: reqwest::Client,
    /// The same without following redirects, for downloads that carry a key.
    pub http_unredirected: reqwest::Client,
    pub retry: RetryPolicy,
    /// Hands jobs' webhook events to delivery once committed.
    pub announcer: Announcer,
    /// Where binary outputs go.
    pub store: ObjectStore,
    pub settings: Settings,
}

impl WorkerContext {
    pub fn new(
        settings: &Settings,
        pool: PgPool,
        catalog: CatalogHandle,
        publisher: Publisher,
        store: ObjectStore,
    ) -> Self {
        let client = || {
            reqwest::Client::builder()
                .user_agent(concat!("distributed-electrons/", env!("CARGO_PKG_VERSION")))
                .pool_max_idle_per_host(1024)
        };
        electrons_domain::prometheus::install(settings.metrics.enabled);
        let http = client().build().unwrap_or_else(|_| reqwest::Client::new());
        let http_unredirected = client()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            batches: batches::Batches::start(&pool),
            announcer: Announcer::start(pool.clone(), publisher),
            limiter: Limiter::new(pool.clone(), settings.worker.max_token_wait),
            pool,
            catalog,
            http,
            http_unredirected,
            store,
            retry: RetryPolicy::new(&settings.jobs),
            settings: settings.clone(),
        }
    }
}

/// Consumes until `shutdown`, then finishes in-flight jobs (up to the grace period)
/// and returns.
pub async fn run(context: WorkerContext, shutdown: Shutdown) {
    let settings = &context.settings;
    let topology = Topology::new(&settings.broker);
    let spec = ConsumerSpec {
        role: "worker",
        queues: settings.worker.modalities.iter().map(|m| topology.queue(*m)).collect(),
        concurrency: settings.worker.concurrency,
        shutdown_grace: settings.worker.shutdown_grace,
    };
    let broker = settings.broker.clone();
    let context = Arc::new(context);
    let handle = move |received: Received| {
        let context = context.clone();
        async move { handle(&context, received).await }
    };
    queue::consume(broker, spec, handle, shutdown).await
}

/// One message from a modality queue: a job's run (`runner`) or a poll of its
/// provider operation (`polling`), inside the job's span.
async fn handle(context: &WorkerContext, received: Received) -> Disposition {
    let message = match JobMessage::from_bytes(&received.body) {
        Ok(message) => message,
        Err(error) => {
            tracing::error!(%error, "unreadable job message; dead-lettering it");
            return Disposition::DeadLetter;
        }
    };
    let span = tracing::info_span!("job", job_id = %message.job_id, attempt = message.attempt, trace_id = tracing::field::Empty);
    // Relayed messages have no request to point back to.
    if let Some(trace_id) = &message.trace_id {
        span.record("trace_id", trace_id.as_str());
    }
    // The job's trace, from the request through the queue to the provider call.
    trace_context::continue_in(&span, received.traceparent.as_deref());
    if message.poll {
        // Boxed, as the copy in `runner` is: a future is as large as its largest
        // await, and every job in flight holds one; the rare, heavy paths
        // (polls, storing outputs) would otherwise enlarge them all.
        return Box::pin(polling::poll(context, message)).instrument(span).await;
    }
    runner::run(context, message).instrument(span).await
}
