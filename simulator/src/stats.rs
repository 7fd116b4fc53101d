//! What the simulator saw: every provider request, in arrival order.
//!
//! The benchmark pushes thousands of requests a second through the simulator on
//! two cores, so recording is one atomic add and one push under an uncontended
//! lock; anything costlier (grouping, slicing) happens when someone asks.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex, MutexGuard,
    },
};

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One request that reached a provider endpoint, whatever we answered.
#[derive(Clone, Debug, Serialize)]
pub struct RecordedRequest {
    /// When it arrived (before any simulated latency).
    pub at: DateTime<Utc>,
    /// `"openai.chat"` or `"anthropic.messages"`.
    pub endpoint: String,
    pub model: Option<String>,
    /// The last user message's text, first 200 characters.
    pub prompt: Option<String>,
    /// The status we answered; 0 for a hang.
    pub status: u16,
}

#[derive(Default)]
pub struct Stats {
    count: AtomicU64,
    log: Mutex<Log>,
}

#[derive(Default)]
struct Log {
    requests: Vec<RecordedRequest>,
    by_endpoint: BTreeMap<String, u64>,
}

/// A snapshot for `GET /_sim/stats`.
#[derive(Serialize)]
pub struct Summary {
    pub requests: u64,
    pub by_endpoint: BTreeMap<String, u64>,
    pub recent: Vec<RecordedRequest>,
}

impl Stats {
    pub fn record(&self, request: RecordedRequest) {
        let mut log = self.log();
        // Endpoints are few: only the first request to each allocates a key.
        match log.by_endpoint.get_mut(&request.endpoint) {
            Some(count) => *count += 1,
            None => {
                log.by_endpoint.insert(request.endpoint.clone(), 1);
            }
        }
        log.requests.push(request);
        // Counted under the lock, after the push: whoever sees the count go up
        // finds the request in the log.
        self.count.fetch_add(1, Ordering::Release);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Acquire)
    }

    pub fn all(&self) -> Vec<RecordedRequest> {
        self.log().requests.clone()
    }

    /// Totals plus the last `recent` requests, without copying the whole log.
    pub fn summary(&self, recent: usize) -> Summary {
        let log = self.log();
        Summary {
            requests: self.count(),
            by_endpoint: log.by_endpoint.clone(),
            recent: log.requests[log.requests.len().saturating_sub(recent)..].to_vec(),
        }
    }

    pub fn reset(&self) {
        let mut log = self.log();
        self.count.store(0, Ordering::Release);
        *log = Log::default();
    }

    /// The log stays usable even if a holder panicked: it is only ever appended to.
    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(endpoint: &str, status: u16) -> RecordedRequest {
        RecordedRequest {
            at: Utc::now(),
            endpoint: endpoint.into(),
            model: None,
            prompt: None,
            status,
        }
    }

    #[test]
    fn summary_groups_and_keeps_the_tail() {
        let stats = Stats::default();
        for status in [200, 500, 429] {
            stats.record(seen("openai.chat", status));
        }
        stats.record(seen("anthropic.messages", 200));
        let summary = stats.summary(2);
        assert_eq!(summary.requests, 4);
        assert_eq!(summary.by_endpoint["openai.chat"], 3);
        assert_eq!(summary.by_endpoint["anthropic.messages"], 1);
        let tail: Vec<u16> = summary.recent.iter().map(|r| r.status).collect();
        assert_eq!(tail, [429, 200]);
        stats.reset();
        assert_eq!((stats.count(), stats.all().len()), (0, 0));
    }
}
