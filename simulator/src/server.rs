//! Starting the simulator and steering it from tests.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use tokio_util::sync::CancellationToken;

use crate::{faults::Fault, stats::Stats, RecordedRequest};

pub struct Simulator;

impl Simulator {
    /// Binds `addr` ("127.0.0.1:0" for any port) and serves in the background.
    pub async fn start(addr: SocketAddr) -> std::io::Result<SimulatorHandle> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let controls = Controls::default();
        let stop = CancellationToken::new();
        let app = crate::providers::router()
            .merge(crate::control::router())
            .with_state(controls.clone());
        let until = stop.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { until.cancelled().await })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "simulator stopped");
            }
        });
        Ok(SimulatorHandle { addr, controls, stop })
    }
}

#[derive(Clone)]
pub struct SimulatorHandle {
    addr: SocketAddr,
    controls: Controls,
    stop: CancellationToken,
}

impl SimulatorHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn controls(&self) -> &Controls {
        &self.controls
    }

    pub fn shutdown(&self) {
        self.controls.inner.stopping.cancel();
        self.stop.cancel();
    }
}

#[derive(Clone, Default)]
pub struct Controls {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Default)]
pub(crate) struct Inner {
    latency_ms: AtomicU64,
    script: Mutex<VecDeque<Fault>>,
    default_fault: Mutex<Option<Fault>>,
    pub(crate) stats: Stats,
    /// Releases hanging requests when the simulator stops.
    pub(crate) stopping: CancellationToken,
}

impl Controls {
    pub fn set_latency(&self, latency: Duration) {
        self.inner
            .latency_ms
            .store(latency.as_millis() as u64, Ordering::SeqCst);
    }

    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.inner.latency_ms.load(Ordering::SeqCst))
    }

    /// The next requests (any endpoint) get these faults, in order.
    pub fn push_script(&self, faults: impl IntoIterator<Item = Fault>) {
        self.inner
            .script
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(faults);
    }

    /// Applied to every request while set, once the script is used up.
    pub fn set_default_fault(&self, fault: Option<Fault>) {
        *self.inner.default_fault.lock().unwrap_or_else(|p| p.into_inner()) = fault;
    }

    pub fn default_fault(&self) -> Option<Fault> {
        self.inner
            .default_fault
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn reset(&self) {
        self.set_latency(Duration::ZERO);
        self.inner.script.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.set_default_fault(None);
        self.inner.stats.reset();
    }

    pub fn request_count(&self) -> u64 {
        self.inner.stats.count()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.stats.all()
    }

    /// The fault for the next request: its own directive, else the script, else the default.
    pub(crate) fn next_fault(&self, directive: Option<Fault>) -> Option<Fault> {
        if directive.is_some() {
            return directive;
        }
        if let Some(fault) = self.inner.script.lock().unwrap_or_else(|p| p.into_inner()).pop_front() {
            return Some(fault);
        }
        self.default_fault()
    }
}
