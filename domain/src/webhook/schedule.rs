//! When a failed delivery tries again: the configured schedule with ±20 %
//! jitter (so a receiver back from an outage is not hit by every delivery in
//! the same second), never sooner than the receiver's Retry-After.

use std::time::Duration;

use crate::config::RetrySchedule;

/// Jitter as a fraction of each wait.
const JITTER: f64 = 0.2;

impl RetrySchedule {
    /// The wait after the `attempts`-th attempt of the current schedule failed
    /// (1-based), or `None` when the schedule is used up.
    pub fn next_wait(&self, attempts: i32, retry_after: Option<Duration>) -> Option<Duration> {
        let base = *self.0.get(usize::try_from(attempts - 1).ok()?)?;
        let jittered = base.mul_f64(1.0 + rand::random_range(-JITTER..=JITTER));
        // A Retry-After longer than the schedule's longest wait is a receiver
        // asking for more than we promised to keep trying; cap it there.
        let longest = self.0.iter().max().copied().unwrap_or_default();
        Some(match retry_after {
            Some(after) => jittered.max(after.min(longest.max(base))),
            None => jittered,
        })
    }

    /// How many attempts the schedule makes in all.
    pub fn attempts(&self) -> usize {
        self.0.len() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> RetrySchedule {
        "1s,10s,100s".parse().expect("schedule")
    }

    #[test]
    fn follows_the_schedule_with_jitter_then_ends() {
        let s = schedule();
        for (attempt, base) in [(1, 1.0), (2, 10.0), (3, 100.0)] {
            let wait = s.next_wait(attempt, None).expect("wait").as_secs_f64();
            assert!(wait >= base * 0.8 && wait <= base * 1.2, "{attempt}: {wait}");
        }
        assert_eq!(s.next_wait(4, None), None);
        assert_eq!(s.next_wait(0, None), None);
        assert_eq!(s.attempts(), 4);
    }

    #[test]
    fn waits_at_least_retry_after_up_to_the_longest_step() {
        let s = schedule();
        let wait = s.next_wait(1, Some(Duration::from_secs(30))).expect("wait");
        assert!(wait >= Duration::from_secs(30), "{wait:?}");
        let capped = s.next_wait(1, Some(Duration::from_secs(86_400))).expect("wait");
        assert_eq!(capped, Duration::from_secs(100));
    }
}
