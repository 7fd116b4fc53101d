//! The simulator's switches (latency, a script of faults, a default fault) and
//! what it saw. Tests hold a `Controls` in-process; the `/_sim` HTTP API in
//! `control.rs` drives the same switches from outside.
//!
//! Which fault a request gets: its own prompt directive, else the next scripted
//! fault, else the default fault, else none. Global latency comes on top of all.

use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::Duration,
};

use tokio_util::sync::CancellationToken;

use crate::{
    faults::Fault,
    stats::{RecordedRequest, Stats, Summary},
};

/// A handle on one simulator's switches; clones share them.
#[derive(Clone)]
pub struct Controls {
    inner: Arc<Inner>,
}

struct Inner {
    latency_ms: AtomicU64,
    script: Mutex<VecDeque<Fault>>,
    default_fault: Mutex<Option<Fault>>,
    stats: Stats,
    /// Cancelled when the simulator stops: ends serving and releases hung requests.
    stopping: CancellationToken,
}

impl Controls {
    pub(crate) fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                latency_ms: AtomicU64::new(0),
                script: Mutex::default(),
                default_fault: Mutex::default(),
                stats: Stats::default(),
                stopping: CancellationToken::new(),
            }),
        }
    }

    /// Added before every provider response, on top of any fault.
    pub fn set_latency(&self, latency: Duration) {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.inner.latency_ms.store(ms, Ordering::Relaxed);
    }

    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.inner.latency_ms.load(Ordering::Relaxed))
    }

    /// The next requests (any endpoint) that pass validation get these faults,
    /// one each, in order; after that, requests are answered normally again.
    pub fn push_script(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.inner.script).extend(faults);
    }

    /// Applied to every valid request while set, once the script is used up.
    pub fn set_default_fault(&self, fault: Option<Fault>) {
        *lock(&self.inner.default_fault) = fault;
    }

    pub fn default_fault(&self) -> Option<Fault> {
        lock(&self.inner.default_fault).clone()
    }

    /// Clears latency, script, default fault and everything recorded.
    pub fn reset(&self) {
        self.set_latency(Duration::ZERO);
        lock(&self.inner.script).clear();
        self.set_default_fault(None);
        self.inner.stats.reset();
    }

    /// Requests that reached a provider endpoint, rejected and faulted ones included.
    pub fn request_count(&self) -> u64 {
        self.inner.stats.count()
    }

    /// Every request that reached a provider endpoint, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.stats.all()
    }

    pub(crate) fn summary(&self, recent: usize) -> Summary {
        self.inner.stats.summary(recent)
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        self.inner.stats.record(request);
    }

    /// The fault for a request that passed validation; consumes a scripted one.
    pub(crate) fn next_fault(&self, directive: Option<Fault>) -> Option<Fault> {
        if directive.is_some() {
            return directive;
        }
        lock(&self.inner.script).pop_front().or_else(|| self.default_fault())
    }

    pub(crate) fn stop(&self) {
        self.inner.stopping.cancel();
    }

    /// Resolves once the simulator is told to stop.
    pub(crate) async fn stopping(&self) {
        self.inner.stopping.cancelled().await;
    }
}

/// The switches hold plain values, so a panic elsewhere cannot leave them half-written.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directive_then_script_then_default() {
        let controls = Controls::new();
        controls.push_script([Fault::Status { status: 500 }, Fault::Malformed]);
        controls.set_default_fault(Some(Fault::Hang));
        assert_eq!(
            controls.next_fault(Some(Fault::Latency { ms: 1 })),
            Some(Fault::Latency { ms: 1 })
        );
        assert_eq!(controls.next_fault(None), Some(Fault::Status { status: 500 }));
        assert_eq!(controls.next_fault(None), Some(Fault::Malformed));
        assert_eq!(controls.next_fault(None), Some(Fault::Hang));
        controls.reset();
        assert_eq!(controls.next_fault(None), None);
    }
}
