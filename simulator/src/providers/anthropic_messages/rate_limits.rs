//! Anthropic's rate-limit headers, `anthropic-ratelimit-{requests,tokens,
//! input-tokens,output-tokens}-{limit,remaining,reset}`, with resets as RFC 3339
//! UTC times: the account's standing when limits are set, else a static default tier.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use crate::account::{Budget, Limit, Standing};

/// The default tier's figures, reported while no account limits are set.
pub const REQUESTS_PER_MINUTE: u64 = 4_000;
pub const INPUT_TOKENS_PER_MINUTE: u64 = 400_000;
pub const OUTPUT_TOKENS_PER_MINUTE: u64 = 80_000;

pub const LIMITS: &[Limit] = &[Limit::Requests, Limit::Tokens, Limit::InputTokens, Limit::OutputTokens];
pub const PREFIX: &str = "anthropic-ratelimit-";

/// How far ahead a reset may lie; keeps a huge debt from overflowing the clock.
const FURTHEST_RESET: Duration = Duration::from_secs(365 * 24 * 3600);

/// The default tier, which the simulator never runs down: only what the request
/// itself used shows. Every bucket resets `reset_in` from now.
pub fn default_headers(
    remaining_requests: u64,
    remaining_input: u64,
    remaining_output: u64,
    reset_in: Duration,
) -> HeaderMap {
    let budget = |limit, remaining| Budget {
        limit,
        remaining,
        full_in: reset_in,
    };
    headers(&vec![
        (Limit::Requests, budget(REQUESTS_PER_MINUTE, remaining_requests)),
        (
            Limit::Tokens,
            budget(
                INPUT_TOKENS_PER_MINUTE + OUTPUT_TOKENS_PER_MINUTE,
                remaining_input + remaining_output,
            ),
        ),
        (Limit::InputTokens, budget(INPUT_TOKENS_PER_MINUTE, remaining_input)),
        (Limit::OutputTokens, budget(OUTPUT_TOKENS_PER_MINUTE, remaining_output)),
    ])
}

pub fn headers(standing: &Standing) -> HeaderMap {
    headers_at(standing, Utc::now())
}

fn headers_at(standing: &Standing, now: DateTime<Utc>) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(3 * standing.len());
    for (limit, budget) in standing {
        let [limit_name, remaining_name, reset_name] = match limit {
            Limit::Requests => REQUESTS,
            Limit::Tokens => TOKENS,
            Limit::InputTokens => INPUT_TOKENS,
            Limit::OutputTokens => OUTPUT_TOKENS,
        };
        headers.insert(HeaderName::from_static(limit_name), HeaderValue::from(budget.limit));
        headers.insert(
            HeaderName::from_static(remaining_name),
            HeaderValue::from(budget.remaining),
        );
        if let Ok(reset) = HeaderValue::from_str(&reset_time(now, budget.full_in)) {
            headers.insert(HeaderName::from_static(reset_name), reset);
        }
    }
    headers
}

/// `now + full_in` as Anthropic writes it (`2025-01-14T19:12:21Z`), rounded up
/// to the second so that "full again" is never early.
fn reset_time(now: DateTime<Utc>, full_in: Duration) -> String {
    let full_in = TimeDelta::from_std(full_in.min(FURTHEST_RESET)).unwrap_or(TimeDelta::zero());
    let at = now + full_in;
    let at = match at.timestamp_subsec_nanos() {
        0 => at,
        nanos => at + TimeDelta::nanoseconds(1_000_000_000 - i64::from(nanos)),
    };
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

const REQUESTS: [&str; 3] = [
    "anthropic-ratelimit-requests-limit",
    "anthropic-ratelimit-requests-remaining",
    "anthropic-ratelimit-requests-reset",
];
const TOKENS: [&str; 3] = [
    "anthropic-ratelimit-tokens-limit",
    "anthropic-ratelimit-tokens-remaining",
    "anthropic-ratelimit-tokens-reset",
];
const INPUT_TOKENS: [&str; 3] = [
    "anthropic-ratelimit-input-tokens-limit",
    "anthropic-ratelimit-input-tokens-remaining",
    "anthropic-ratelimit-input-tokens-reset",
];
const OUTPUT_TOKENS: [&str; 3] = [
    "anthropic-ratelimit-output-tokens-limit",
    "anthropic-ratelimit-output-tokens-remaining",
    "anthropic-ratelimit-output-tokens-reset",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-01-14T19:12:20.250Z")
            .expect("valid time")
            .with_timezone(&Utc)
    }

    #[test]
    fn resets_are_rfc3339_utc_rounded_up_to_the_second() {
        assert_eq!(reset_time(now(), Duration::ZERO), "2025-01-14T19:12:21Z");
        assert_eq!(reset_time(now(), Duration::from_millis(750)), "2025-01-14T19:12:21Z");
        assert_eq!(reset_time(now(), Duration::from_millis(751)), "2025-01-14T19:12:22Z");
        assert_eq!(reset_time(now(), Duration::from_secs(3600)), "2025-01-14T20:12:21Z");
        assert_eq!(
            reset_time(now(), Duration::MAX),
            "2026-01-14T19:12:21Z",
            "capped at a year"
        );
    }

    #[test]
    fn only_the_limits_in_the_standing_are_reported() {
        let standing = vec![(
            Limit::OutputTokens,
            Budget {
                limit: 8000,
                remaining: 7990,
                full_in: Duration::from_millis(75),
            },
        )];
        let headers = headers_at(&standing, now());
        assert_eq!(headers.len(), 3, "{headers:?}");
        assert_eq!(headers["anthropic-ratelimit-output-tokens-limit"], "8000");
        assert_eq!(headers["anthropic-ratelimit-output-tokens-remaining"], "7990");
        assert_eq!(
            headers["anthropic-ratelimit-output-tokens-reset"],
            "2025-01-14T19:12:21Z"
        );
    }
}
