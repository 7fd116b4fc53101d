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
    /// The endpoint's name, e.g. `"openai.chat"`, `"shotstack.render"` (see the crate docs).
    pub endpoint: String,
    pub model: Option<String>,
    /// The last user message's text, first 200 characters.
    pub prompt: Option<String>,
    /// A text request's system prompt, first 200 characters.
    pub system: Option<String>,
    pub temperature: Option<f64>,
    /// The last four characters of the key the request carried (a bearer
    /// token, `x-api-key`, `x-goog-api-key`, `xi-api-key` or `key=`).
    pub key_last4: Option<String>,
    /// The JSON body, for endpoints that record it (Forge's).
    pub body: Option<serde_json::Value>,
    /// The status we answered; 0 for a hang.
    pub status: u16,
    /// The usage our answer reported (`prompt_tokens` / `input_tokens`); 0 for
    /// errors and hangs. A malformed 200 counts the usage of the reply it cut short.
    pub input_tokens: u64,
    /// `completion_tokens` (all choices) / `output_tokens`; 0 as above.
    pub output_tokens: u64,
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

    /// How many requests arrived in `[from, to)`. A plain scan: the log is only
    /// roughly in arrival order (see `window.rs`), so no binary search.
    pub fn count_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
        let within = self.log().requests.iter().filter(|r| from <= r.at && r.at < to).count();
        u64::try_from(within).unwrap_or(u64::MAX)
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
            system: None,
            temperature: None,
            key_last4: None,
            body: None,
            status,
            input_tokens: 0,
            output_tokens: 0,
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

    #[test]
    fn count_between_is_half_open() {
        let stats = Stats::default();
        let start = Utc::now();
        for ms in [0, 10, 20, 30] {
            stats.record(RecordedRequest {
                at: start + chrono::TimeDelta::milliseconds(ms),
                ..seen("openai.chat", 200)
            });
        }
        let at = |ms| start + chrono::TimeDelta::milliseconds(ms);
        assert_eq!(stats.count_between(at(10), at(30)), 2);
        assert_eq!(stats.count_between(at(0), at(31)), 4);
        assert_eq!(stats.count_between(at(30), at(10)), 0, "an inverted range is empty");
    }
}
