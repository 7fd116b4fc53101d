//! What a receiver's answer (or silence) means for a delivery: delivered on a
//! 2xx; disabled on 410; slowed down on 429/502/504 (Retry-After honoured, the
//! endpoint paused); retried on the schedule for anything else, 3xx included
//! (redirects are not followed); exhausted when the schedule ends.

use std::time::Duration;

use chrono::Utc;
use electrons_domain::{config::RetrySchedule, db::webhook_deliveries::NextStep, retry::parse_retry_after};

use crate::client::refusal_in;

/// How much of the receiver's body is kept with the attempt.
const EXCERPT_BYTES: usize = 256;

/// What one attempt got back.
#[derive(Debug, Default)]
pub struct Answer {
    pub status: Option<u16>,
    pub retry_after: Option<Duration>,
    pub excerpt: Option<String>,
    /// Why the attempt failed, in words for the client; `None` on a 2xx.
    pub error: Option<String>,
}

impl Answer {
    pub async fn from_response(response: reqwest::Response) -> Self {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, Utc::now()));
        let excerpt = excerpt(response).await;
        let code = status.as_u16();
        let error = match code {
            200..=299 => None,
            410 => Some("410 Gone: the receiver asked for no more deliveries; the endpoint is disabled".into()),
            300..=399 => Some(format!(
                "{code}: redirects are not followed; point the webhook at the final URL"
            )),
            429 | 502 | 504 => Some(format!("{code}: the receiver asked us to slow down")),
            _ => Some(format!("the receiver answered {code}")),
        };
        Self {
            status: Some(code),
            retry_after,
            excerpt,
            error,
        }
    }

    pub fn from_error(error: &reqwest::Error, timeout: Duration) -> Self {
        let message = if let Some(refusal) = refusal_in(error) {
            format!("refused: {refusal}")
        } else if error.is_timeout() {
            format!("no answer within {} ms", timeout.as_millis())
        } else if error.is_connect() {
            format!("could not connect: {}", root_cause(error))
        } else {
            format!("the request failed: {}", root_cause(error))
        };
        Self {
            error: Some(message),
            ..Self::default()
        }
    }

    pub fn refused(reason: impl std::fmt::Display) -> Self {
        Self {
            error: Some(format!("refused: {reason}")),
            ..Self::default()
        }
    }

    /// Receivers that said "too many" or "overloaded".
    pub fn asks_to_slow_down(&self) -> bool {
        matches!(self.status, Some(429 | 502 | 504))
    }

    /// The step after this answer, for the `attempt`-th attempt of the schedule.
    pub fn next_step(&self, schedule: &RetrySchedule, attempt: i32) -> NextStep {
        match self.status {
            Some(200..=299) => NextStep::Delivered,
            Some(410) => NextStep::Disabled,
            _ => {
                let retry_after = self.asks_to_slow_down().then_some(self.retry_after).flatten();
                match schedule.next_wait(attempt, retry_after) {
                    Some(wait) => NextStep::RetryIn(wait),
                    None => NextStep::Exhausted,
                }
            }
        }
    }
}

/// The start of the body, without reading more of it than that.
async fn excerpt(mut response: reqwest::Response) -> Option<String> {
    let mut bytes = Vec::new();
    while bytes.len() < EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(EXCERPT_BYTES);
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// The innermost cause, without the URL reqwest puts in its own message (the
/// client's URL may carry a token).
fn root_cause(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, retry_after: Option<u64>) -> Answer {
        Answer {
            status: Some(status),
            retry_after: retry_after.map(Duration::from_secs),
            ..Answer::default()
        }
    }

    #[test]
    fn decides_the_next_step() {
        let schedule: RetrySchedule = "1s,2s".parse().expect("schedule");
        assert_eq!(answer(204, None).next_step(&schedule, 1), NextStep::Delivered);
        assert_eq!(answer(410, None).next_step(&schedule, 1), NextStep::Disabled);
        assert!(matches!(
            answer(301, None).next_step(&schedule, 1),
            NextStep::RetryIn(_)
        ));
        assert!(matches!(
            answer(500, None).next_step(&schedule, 2),
            NextStep::RetryIn(_)
        ));
        assert_eq!(answer(500, None).next_step(&schedule, 3), NextStep::Exhausted);
        // Retry-After counts only from receivers asking to slow down.
        let NextStep::RetryIn(wait) = answer(429, Some(2)).next_step(&schedule, 1) else {
            panic!("retry")
        };
        assert!(wait >= Duration::from_secs(2));
        let NextStep::RetryIn(wait) = answer(500, Some(2)).next_step(&schedule, 1) else {
            panic!("retry")
        };
        assert!(wait < Duration::from_secs(2));
    }
}
