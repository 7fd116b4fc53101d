//! The one retry policy for jobs: exponential backoff with jitter (timing from
//! `backon`), never sooner than a provider's Retry-After (parsed here for
//! providers and webhook receivers alike).

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::config::JobSettings;

#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub max_attempts: i32,
    min_delay: Duration,
    max_delay: Duration,
}

impl RetryPolicy {
    pub fn new(settings: &JobSettings) -> Self {
        Self {
            max_attempts: settings.max_attempts.max(1),
            min_delay: settings.retry_min_delay,
            max_delay: settings.retry_max_delay.max(settings.retry_min_delay),
        }
    }

    /// Delay before the next run of a job whose attempt number `attempt` (1-based)
    /// just failed, or `None` when the attempts are used up.
    pub fn next_delay(&self, attempt: i32, retry_after: Option<Duration>) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let backoff = self.backoff(attempt);
        // With a Retry-After, wait that long plus up to one minimum delay of the
        // jittered backoff, so a fleet told "3 s" does not return in one instant.
        Some(retry_after.map_or(backoff, |after| backoff.clamp(after, after + self.min_delay)))
    }

    /// The jittered wait after the `n`th failure (1-based) of any step retried on
    /// this policy's timing, whatever its own limit on tries (copying outputs).
    pub fn backoff(&self, n: i32) -> Duration {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(n.max(1) as usize)
            .build()
            .last()
            .unwrap_or(self.min_delay)
    }
}

/// A `Retry-After` value: delay-seconds or an HTTP date (RFC 9110 §10.2.3),
/// at most a day.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(86_400.0)));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&chrono::Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::new(&JobSettings {
            max_attempts: 4,
            retry_min_delay: Duration::from_millis(100),
            retry_max_delay: Duration::from_secs(1),
            json_output_retries: 2,
            fallback_after: Duration::from_secs(30),
        })
    }

    #[test]
    fn grows_with_jitter_up_to_the_ceiling() {
        let p = policy();
        let first = p.next_delay(1, None).expect("retry");
        let third = p.next_delay(3, None).expect("retry");
        assert!(
            first >= Duration::from_millis(100) && first <= Duration::from_millis(200),
            "{first:?}"
        );
        assert!(
            third >= Duration::from_millis(400) && third <= Duration::from_secs(2),
            "{third:?}"
        );
    }

    #[test]
    fn stops_after_max_attempts() {
        assert!(policy().next_delay(4, None).is_none());
    }

    #[test]
    fn never_sooner_than_retry_after() {
        let d = policy().next_delay(1, Some(Duration::from_secs(3))).expect("retry");
        assert!(d >= Duration::from_secs(3), "{d:?}");
    }
}
