//! Long-running operations (Shotstack renders, Veo generations). An operation's
//! progress is only the time since it was submitted against its duration, so
//! nothing runs in the background: each poll works out where it stands. How far
//! along means which status is each provider's wording, next to the provider.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use crate::recent::Recent;

/// How many operations stay pollable; older ones answer 404.
const KEPT: usize = 20_000;

/// One submitted operation; how it will end is decided at submission.
#[derive(Debug)]
pub struct Operation {
    pub created: DateTime<Utc>,
    started: Instant,
    duration: Duration,
    /// Why it fails once done; `None` if it succeeds.
    pub failure: Option<String>,
    /// Links to what it produces, handed out once it is done.
    pub outputs: Vec<String>,
    /// What was submitted, for providers that echo it.
    pub request: Value,
}

impl Operation {
    pub fn new(duration: Duration, failure: Option<String>, outputs: Vec<String>, request: Value) -> Self {
        Self {
            created: Utc::now(),
            started: Instant::now(),
            duration,
            failure,
            outputs,
            request,
        }
    }

    /// From 0 at submission to 1 once the duration has passed.
    pub fn progress(&self) -> f64 {
        if self.duration.is_zero() {
            return 1.0;
        }
        (self.started.elapsed().as_secs_f64() / self.duration.as_secs_f64()).min(1.0)
    }

    pub fn done(&self) -> bool {
        self.started.elapsed() >= self.duration
    }

    /// When its status last changed: now while running, its end once done.
    pub fn updated(&self) -> DateTime<Utc> {
        let ran = self.started.elapsed().min(self.duration);
        self.created + TimeDelta::from_std(ran).unwrap_or(TimeDelta::MAX)
    }
}

pub struct Operations {
    stored: Recent<Arc<Operation>>,
}

impl Default for Operations {
    fn default() -> Self {
        Self {
            stored: Recent::new(KEPT),
        }
    }
}

impl Operations {
    pub fn insert(&self, id: String, operation: Operation) {
        self.stored.insert(id, Arc::new(operation));
    }

    pub fn get(&self, id: &str) -> Option<Arc<Operation>> {
        self.stored.get(id)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn progress_follows_the_clock() {
        let instant = Operation::new(Duration::ZERO, None, vec![], json!({}));
        assert!(instant.done());
        assert_eq!(instant.progress(), 1.0);

        let slow = Operation::new(Duration::from_secs(3600), Some("no".into()), vec![], json!({}));
        assert!(!slow.done());
        assert!(slow.progress() < 0.01);
        assert!(slow.updated() >= slow.created);
    }
}
