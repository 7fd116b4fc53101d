//! What the simulator saw: every request, cheaply recorded.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Mutex,
};

use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct RecordedRequest {
    pub at: DateTime<Utc>,
    pub endpoint: String,
    pub model: Option<String>,
    /// Last user message text, first 200 characters.
    pub prompt: Option<String>,
    /// What we answered; 0 for a hang.
    pub status: u16,
}

#[derive(Default)]
pub struct Stats {
    count: AtomicU64,
    requests: Mutex<Vec<RecordedRequest>>,
}

impl Stats {
    pub fn record(&self, request: RecordedRequest) {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.requests.lock().unwrap_or_else(|p| p.into_inner()).push(request);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    pub fn all(&self) -> Vec<RecordedRequest> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn reset(&self) {
        self.count.store(0, Ordering::SeqCst);
        self.requests.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
