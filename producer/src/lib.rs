//! The producer: the HTTP face of DE. It validates a request, commits the job,
//! answers, then publishes the job to RabbitMQ (invariant 1: accepted means
//! durable; a publish that fails is retried by the scheduler). It also serves
//! polling, cancellation, the model list, webhook deliveries and secrets.

mod auth;
mod budgets;
mod console;
mod dispatch;
mod error;
mod http_metrics;
mod in_process;
mod inserts;
mod job_events;
mod job_notices;
mod openai;
mod replicate;
mod routes;
mod state;

use std::sync::Arc;

use axum::{extract::DefaultBodyLimit, serve::ListenerExt, Router};
use electrons_domain::{
    catalog::CatalogHandle,
    config::Settings,
    queue::Publisher,
    storage::ObjectStore,
    webhook::{AddressGuard, Announcer},
    Shutdown,
};
use sqlx::PgPool;
use tokio::net::TcpListener;

pub use error::ApiError;
pub use routes::metrics::render as render_metrics;
pub use state::AppState;

/// Builds the application state: starts the publish-confirmation marker and the
/// listener that wakes `Prefer: wait` requests and event streams.
pub fn state(
    settings: &Settings,
    pool: PgPool,
    catalog: CatalogHandle,
    publisher: Publisher,
    store: ObjectStore,
    shutdown: Shutdown,
) -> AppState {
    electrons_domain::prometheus::install(settings.metrics.enabled);
    let (finished, progressed) = job_notices::start(pool.clone(), shutdown.clone());
    AppState {
        pool: pool.clone(),
        catalog,
        dispatcher: dispatch::Dispatcher::start(pool.clone(), publisher.clone(), shutdown.clone()),
        announcer: Announcer::start(pool.clone(), publisher.clone()),
        webhook_guard: AddressGuard::new(settings.webhooks.allowed_networks.clone()),
        publisher,
        finished,
        progressed,
        inserts: inserts::Inserts::start(pool.clone()),
        keys: auth::KeyCache::start(pool.clone(), shutdown.clone()),
        budgets: budgets::BudgetedProjects::start(pool.clone(), shutdown),
        store,
        settings: Arc::new(settings.clone()),
    }
}

pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.producer.body_limit_bytes;
    let (router, document) = routes::router().split_for_parts();
    // The console and the compatible APIs call the API in process, through
    // the same routes and limits.
    let api = in_process::Api(
        router
            .clone()
            .layer(DefaultBodyLimit::max(body_limit))
            .with_state(state.clone()),
    );
    router
        .merge(routes::api_doc::serve(routes::api_doc::finish(document)))
        .merge(console::router(api.clone()))
        .merge(openai::router(api.clone()))
        .merge(replicate::router(api))
        .route_layer(axum::middleware::from_fn(http_metrics::record))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves until `shutdown`, then finishes the requests in flight.
pub async fn serve(state: AppState, listener: TcpListener, shutdown: Shutdown) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "producer listening");
    // A streamed answer's pieces are small writes: without TCP_NODELAY the
    // first after the headers waits for the client's delayed ACK (40 ms).
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY on a connection");
        }
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
