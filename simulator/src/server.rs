//! Starting the simulator on a socket and stopping it again.
//!
//! Stopping is one mechanism: the `CancellationToken` inside `Controls`. Cancelling
//! it ends axum's graceful shutdown *and* releases requests held by a `Hang`
//! fault, which would otherwise keep graceful shutdown waiting forever.

use std::net::SocketAddr;

use axum::{extract::DefaultBodyLimit, serve::ListenerExt, Router};
use tokio_util::sync::CancellationToken;

use crate::controls::Controls;

/// Anthropic's documented limit for the Messages API; OpenAI's is similar. axum's
/// 2 MB default would refuse image-bearing requests the real APIs accept.
const BODY_LIMIT: usize = 32 * 1024 * 1024;

/// Namespace for starting simulators.
pub struct Simulator;

impl Simulator {
    /// Binds `addr` (`127.0.0.1:0` for any free port) and serves in a spawned task.
    pub async fn start(addr: SocketAddr) -> std::io::Result<SimulatorHandle> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let controls = Controls::new();
        let app = Router::new()
            .merge(crate::providers::router())
            .merge(crate::control::router())
            .merge(crate::files::router())
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(controls.clone());
        let finished = CancellationToken::new();
        let (until, done) = (controls.clone(), finished.clone());
        // Streamed answers are small writes, sent as the real APIs send them: at once.
        let listener = listener.tap_io(|stream| {
            let _ = stream.set_nodelay(true);
        });
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { until.stopping().await })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "provider simulator stopped serving");
            }
            done.cancel();
        });
        Ok(SimulatorHandle {
            addr,
            controls,
            finished,
        })
    }
}

/// A running simulator; clones refer to the same one.
#[derive(Clone)]
pub struct SimulatorHandle {
    addr: SocketAddr,
    controls: Controls,
    finished: CancellationToken,
}

impl SimulatorHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn controls(&self) -> &Controls {
        &self.controls
    }

    /// Stops accepting connections and lets in-flight requests finish (hung ones
    /// are released with a 503). Returns at once; see [`SimulatorHandle::stopped`].
    pub fn shutdown(&self) {
        self.controls.stop();
    }

    /// Resolves when the server task has finished after [`SimulatorHandle::shutdown`].
    pub async fn stopped(&self) {
        self.finished.cancelled().await;
    }
}
