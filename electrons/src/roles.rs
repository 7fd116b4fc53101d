//! Starting roles. Each returns a handle that completes when the role has shut
//! down after `shutdown` fired; the process (or test) decides which to run.
//!
//! A role's shutdown runs in order: stop taking work, finish (and ack) what is
//! in flight, close the consumer's channel and connection, then the publisher's
//! (`Publisher::close`), so the last jobs' publishes still go out and nothing
//! is left for lapin to close on its own. Each logs `<role> stopped` at the end.

use std::net::SocketAddr;

use anyhow::Context;
use electrons_domain::{
    auth,
    catalog::{Catalog, CatalogHandle, Overrides},
    config::Settings,
    db,
    queue::{Publisher, Topology},
    storage::ObjectStore,
    Shutdown,
};
use sqlx::PgPool;
use tokio::{net::TcpListener, task::JoinHandle};

/// How often running processes pick up catalog changes (models, providers, keys).
const CATALOG_REFRESH: std::time::Duration = std::time::Duration::from_secs(10);

/// Connects to PostgreSQL (creating the database if needed) and applies migrations.
pub async fn database(settings: &Settings) -> anyhow::Result<PgPool> {
    let pool = db::connect(&settings.database)
        .await
        .context("connecting to PostgreSQL")?;
    db::migrate(&pool).await.context("applying migrations")?;
    Ok(pool)
}

pub async fn catalog(
    settings: &Settings,
    pool: &PgPool,
    overrides: Overrides,
    shutdown: &Shutdown,
) -> anyhow::Result<CatalogHandle> {
    let catalog = CatalogHandle::load(pool, overrides, settings.keyring.clone())
        .await
        .context("loading the model catalog")?;
    catalog.spawn_refresh(pool.clone(), CATALOG_REFRESH, shutdown.clone());
    Ok(catalog)
}

/// Providers that have no API key in the database or the environment.
pub async fn providers_without_key(settings: &Settings, pool: &PgPool) -> anyhow::Result<Vec<String>> {
    let catalog = Catalog::load(pool, &Overrides::default(), settings.keyring.as_ref()).await?;
    let mut missing: Vec<String> = catalog
        .providers
        .values()
        .filter(|p| p.api_key.is_none())
        .map(|p| p.id.clone())
        .collect();
    missing.sort();
    Ok(missing)
}

pub struct ProducerRole {
    pub addr: SocketAddr,
    pub handle: JoinHandle<()>,
}

pub async fn producer(
    settings: &Settings,
    pool: PgPool,
    catalog: CatalogHandle,
    listener: Option<TcpListener>,
    shutdown: Shutdown,
) -> anyhow::Result<ProducerRole> {
    if let Some(key) = &settings.producer.bootstrap_api_key {
        auth::ensure_key(&pool, "default", key, &auth::Scope::ALL)
            .await
            .context("creating the bootstrap API key")?;
    }
    let listener = match listener {
        Some(l) => l,
        None => TcpListener::bind(settings.producer.http_addr)
            .await
            .with_context(|| format!("binding {}", settings.producer.http_addr))?,
    };
    let addr = listener.local_addr()?;
    let store = store(settings).await?;
    let publisher = publisher(settings, "producer");
    let state = electrons_producer::state(settings, pool, catalog, publisher.clone(), store, shutdown.clone());
    let handle = tokio::spawn(async move {
        // Requests in flight finish first; what they publish, then.
        if let Err(error) = electrons_producer::serve(state, listener, shutdown).await {
            tracing::error!(%error, "producer failed");
        }
        publisher.close().await;
        tracing::info!("producer stopped");
    });
    Ok(ProducerRole { addr, handle })
}

/// The configured object store (an S3 bucket, created if missing, or the local directory).
pub async fn store(settings: &Settings) -> anyhow::Result<ObjectStore> {
    let store = ObjectStore::open(&settings.storage, &settings.producer.public_url)
        .await
        .context("opening the object store")?;
    tracing::info!(store = %store.describe(), "outputs are kept in");
    Ok(store)
}

pub fn worker(
    settings: &Settings,
    pool: PgPool,
    catalog: CatalogHandle,
    store: ObjectStore,
    shutdown: Shutdown,
) -> JoinHandle<()> {
    let publisher = publisher(settings, "worker");
    let context = electrons_workers::WorkerContext::new(settings, pool, catalog, publisher.clone(), store);
    tokio::spawn(async move {
        // Returns once the jobs in flight are acked and the consumer is closed.
        electrons_workers::run(context, shutdown).await;
        publisher.close().await;
        tracing::info!("worker stopped");
    })
}

pub fn webhooks(settings: &Settings, pool: PgPool, store: ObjectStore, shutdown: Shutdown) -> JoinHandle<()> {
    let context = electrons_webhooks::WebhookContext::new(settings, pool, store);
    tokio::spawn(async move {
        electrons_webhooks::run(context, shutdown).await;
        tracing::info!("webhook deliverer stopped");
    })
}

pub fn scheduler(settings: &Settings, pool: PgPool, store: ObjectStore, shutdown: Shutdown) -> JoinHandle<()> {
    let publisher = publisher(settings, "scheduler");
    let run = electrons_scheduler::run(settings.scheduler.clone(), pool, publisher.clone(), store, shutdown);
    tokio::spawn(async move {
        // Returns after the tick in progress.
        run.await;
        publisher.close().await;
        tracing::info!("scheduler stopped");
    })
}

/// A role's publisher. Not stopped by the role's shutdown token: the role closes
/// it once its own work is done, which may still publish.
fn publisher(settings: &Settings, role: &str) -> Publisher {
    Publisher::start(
        &settings.broker.url,
        Topology::new(&settings.broker),
        role,
        Shutdown::new(),
    )
}

/// Cancels `shutdown` on SIGTERM or Ctrl-C.
pub fn shutdown_on_signal(shutdown: Shutdown) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(error) => {
                    tracing::error!(%error, "cannot listen for SIGTERM");
                    let _ = ctrl_c.await;
                    shutdown.cancel();
                    return;
                }
            };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
        shutdown.cancel();
    });
}
