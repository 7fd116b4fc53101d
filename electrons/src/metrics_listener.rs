//! The small HTTP listener a worker, webhook deliverer or scheduler process
//! serves its Prometheus metrics on (`DE_METRICS_ADDR`); the producer serves
//! them on its own port.

use anyhow::Context;
use axum::{routing::get, Router};
use electrons_domain::{config::Settings, prometheus, Shutdown};
use tokio::net::TcpListener;

/// Serves `GET /metrics` on `DE_METRICS_ADDR` until `shutdown`; nothing when it is unset.
pub async fn spawn(settings: &Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    let Some(addr) = settings.metrics.listen_addr else {
        return Ok(());
    };
    if !prometheus::install(settings.metrics.enabled) {
        tracing::warn!(%addr, "DE_METRICS_ADDR is set but metrics are off (DE_METRICS=false); not listening");
        return Ok(());
    }
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding DE_METRICS_ADDR {addr}"))?;
    tracing::info!(addr = %listener.local_addr()?, "serving metrics");
    let app = Router::new().route("/metrics", get(electrons_producer::render_metrics));
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "the metrics listener failed");
        }
    });
    Ok(())
}
