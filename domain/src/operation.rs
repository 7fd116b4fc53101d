//! A long-running provider operation a job waits on (a Shotstack render, a Veo
//! generation): what was submitted, when it must be done, how polling went.
//! Stored in `jobs.operation`; the worker that polls reads and rewrites it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// The provider's id for it: a Shotstack render id, a Veo operation name.
    pub id: String,
    pub submitted_at: DateTime<Utc>,
    /// Past this, the job fails with `operation_timeout`.
    pub deadline: DateTime<Utc>,
    pub polls: u32,
    /// Polls in a row that got no answer (timeouts, 5xx); reset by an answer.
    #[serde(default)]
    pub failed_polls: u32,
    /// What the provider last said (`rendering`, `running`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl Operation {
    pub fn new(id: String, timeout: Duration) -> Self {
        let now = Utc::now();
        Self {
            id,
            submitted_at: now,
            deadline: now + chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::hours(1)),
            polls: 0,
            failed_polls: 0,
            status: None,
        }
    }

    pub fn is_overdue(&self) -> bool {
        Utc::now() > self.deadline
    }

    /// The wait before the next poll: `first`, then half as long again each
    /// time, up to `max` — quick for short renders, cheap for long ones.
    pub fn next_poll_in(&self, first: Duration, max: Duration) -> Duration {
        let grown = first.as_secs_f64() * 1.5f64.powi(self.polls.min(30) as i32);
        Duration::from_secs_f64(
            grown
                .min(max.as_secs_f64())
                .max(first.as_secs_f64().min(max.as_secs_f64())),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_back_off_to_the_ceiling() {
        let mut op = Operation::new("r1".into(), Duration::from_secs(60));
        let (first, max) = (Duration::from_secs(2), Duration::from_secs(10));
        assert_eq!(op.next_poll_in(first, max), Duration::from_secs(2));
        op.polls = 1;
        assert_eq!(op.next_poll_in(first, max), Duration::from_secs(3));
        op.polls = 20;
        assert_eq!(op.next_poll_in(first, max), max);
        assert!(!op.is_overdue());
    }
}
