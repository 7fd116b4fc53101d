//! The simulator's switches (latency, a script of faults, a default fault) and
//! what it saw. Tests hold a `Controls` in-process; the `/_sim` HTTP API in
//! `control.rs` drives the same switches from outside.
//!
//! Which fault a request gets: its own prompt directive, else the next scripted
//! fault, else the default fault, else none. Global latency comes on top of all.
//! Account rate limits (`account.rs`) are checked before any fault is picked.
//!
//! The files and long-running operations the providers hand out live here too,
//! but they are provider state, not switches: `reset` leaves them reachable.

use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::Duration,
};

use chrono::{DateTime, TimeDelta, Utc};
use tokio_util::sync::CancellationToken;

use crate::{
    account::{Account, AccountLimits},
    faults::Fault,
    files::Files,
    operations::Operations,
    stats::{RecordedRequest, Stats, Summary},
    window,
};

/// How long a long-running operation takes unless configured otherwise.
pub const DEFAULT_OPERATION_DURATION: Duration = Duration::from_secs(1);

/// A handle on one simulator's switches; clones share them.
#[derive(Clone)]
pub struct Controls {
    inner: Arc<Inner>,
}

struct Inner {
    latency_ms: AtomicU64,
    operation_ms: AtomicU64,
    script: Mutex<VecDeque<Fault>>,
    default_fault: Mutex<Option<Fault>>,
    account: Account,
    stats: Stats,
    files: Files,
    operations: Operations,
    /// Cancelled when the simulator stops: ends serving and releases hung requests.
    stopping: CancellationToken,
}

impl Controls {
    pub(crate) fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                latency_ms: AtomicU64::new(0),
                operation_ms: AtomicU64::new(millis(DEFAULT_OPERATION_DURATION)),
                script: Mutex::default(),
                default_fault: Mutex::default(),
                account: Account::default(),
                stats: Stats::default(),
                files: Files::default(),
                operations: Operations::default(),
                stopping: CancellationToken::new(),
            }),
        }
    }

    /// Added before every provider response, on top of any fault.
    pub fn set_latency(&self, latency: Duration) {
        self.inner.latency_ms.store(millis(latency), Ordering::Relaxed);
    }

    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.inner.latency_ms.load(Ordering::Relaxed))
    }

    /// How long long-running operations (Shotstack renders, Veo generations)
    /// submitted from now on take, unless a request says otherwise with
    /// `[[sim:operation_ms=N]]`. Default: 1 s.
    pub fn set_operation_duration(&self, duration: Duration) {
        self.inner.operation_ms.store(millis(duration), Ordering::Relaxed);
    }

    pub fn operation_duration(&self) -> Duration {
        Duration::from_millis(self.inner.operation_ms.load(Ordering::Relaxed))
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

    /// Simulated per-minute account limits, reported in each provider's
    /// rate-limit headers and, with `enforce`, answered with 429s. Each endpoint
    /// is its own account; setting limits (again) starts every bucket full.
    /// `None` goes back to the providers' static default-tier headers.
    pub fn set_account_limits(&self, limits: Option<AccountLimits>) {
        self.inner.account.set(limits);
    }

    pub fn account_limits(&self) -> Option<AccountLimits> {
        self.inner.account.limits()
    }

    /// Clears latency, script, default fault, account limits and everything
    /// recorded, and puts the operation duration back to its default.
    pub fn reset(&self) {
        self.set_latency(Duration::ZERO);
        self.set_operation_duration(DEFAULT_OPERATION_DURATION);
        lock(&self.inner.script).clear();
        self.set_default_fault(None);
        self.set_account_limits(None);
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

    /// The largest sum of `weigh(request)` over the requests arriving in any
    /// window `[t, t + window)`, e.g. `|_| 1` for the busiest stretch in requests,
    /// `|r| r.input_tokens + r.output_tokens` in tokens.
    pub fn max_in_window(&self, window: Duration, weigh: impl Fn(&RecordedRequest) -> u64) -> u64 {
        // Weighed on a copy: `weigh` is the caller's code and must not run under our lock.
        let mut arrivals: Vec<_> = self.requests().iter().map(|r| (r.at, weigh(r))).collect();
        let window = TimeDelta::from_std(window).unwrap_or(TimeDelta::MAX);
        window::max_in_window(&mut arrivals, window)
    }

    /// How many requests arrived in `[from, to)`.
    pub fn requests_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
        self.inner.stats.count_between(from, to)
    }

    /// How many times output files (`/_sim/files/…`) were asked for, served or not.
    pub fn file_requests(&self) -> u64 {
        self.inner.files.requests()
    }

    pub(crate) fn account(&self) -> &Account {
        &self.inner.account
    }

    pub(crate) fn files(&self) -> &Files {
        &self.inner.files
    }

    pub(crate) fn operations(&self) -> &Operations {
        &self.inner.operations
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

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
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

    #[test]
    fn operation_duration_is_a_switch() {
        let controls = Controls::new();
        assert_eq!(controls.operation_duration(), DEFAULT_OPERATION_DURATION);
        controls.set_operation_duration(Duration::from_millis(30));
        assert_eq!(controls.operation_duration(), Duration::from_millis(30));
        controls.reset();
        assert_eq!(controls.operation_duration(), DEFAULT_OPERATION_DURATION);
    }

    fn arrived(at: DateTime<Utc>, input_tokens: u64) -> RecordedRequest {
        RecordedRequest {
            at,
            endpoint: "openai.chat".into(),
            model: None,
            prompt: None,
            system: None,
            temperature: None,
            key_last4: None,
            body: None,
            status: 200,
            input_tokens,
            output_tokens: 1,
        }
    }

    #[test]
    fn windows_over_what_was_recorded() {
        let controls = Controls::new();
        let start = Utc::now();
        let at = |secs| start + TimeDelta::seconds(secs);
        for (secs, tokens) in [(0, 10), (30, 20), (59, 30), (60, 40), (200, 5)] {
            controls.record(arrived(at(secs), tokens));
        }
        let minute = Duration::from_secs(60);
        assert_eq!(controls.max_in_window(minute, |_| 1), 3);
        assert_eq!(controls.max_in_window(minute, |r| r.input_tokens + r.output_tokens), 93);
        assert_eq!(controls.max_in_window(Duration::from_secs(1), |_| 1), 1);
        assert_eq!(controls.max_in_window(Duration::MAX, |r| r.input_tokens), 105);
        assert_eq!(controls.requests_between(at(30), at(60)), 2, "half-open");
        assert_eq!(controls.requests_between(at(0), at(201)), 5);
        controls.reset();
        assert_eq!(controls.max_in_window(minute, |_| 1), 0);
    }

    #[test]
    fn reset_clears_account_limits() {
        let controls = Controls::new();
        let limits = AccountLimits {
            requests_per_minute: Some(5),
            ..AccountLimits::default()
        };
        controls.set_account_limits(Some(limits.clone()));
        assert_eq!(controls.account_limits(), Some(limits));
        controls.reset();
        assert_eq!(controls.account_limits(), None);
    }
}
