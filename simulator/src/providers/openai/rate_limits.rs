//! OpenAI's rate-limit headers, `x-ratelimit-{limit,remaining,reset}-{requests,
//! tokens}`, with resets written as Go durations (`6m0s`, `20ms`, `1m30.5s`):
//! the account's standing when limits are set, else a static default tier.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::account::{Budget, Limit, Standing};

/// The default tier's figures, reported while no account limits are set.
pub const REQUESTS_PER_MINUTE: u64 = 10_000;
pub const TOKENS_PER_MINUTE: u64 = 2_000_000;

/// The limits OpenAI accounts have; it reports no input/output split.
pub const LIMITS: &[Limit] = &[Limit::Requests, Limit::Tokens];
pub const PREFIX: &str = "x-ratelimit-";

/// The default tier, which the simulator never runs down: only what the request
/// itself used shows.
pub fn default_headers(remaining_requests: u64, remaining_tokens: u64, reset_requests: Duration) -> HeaderMap {
    let budget = |limit, remaining, full_in| Budget {
        limit,
        remaining,
        full_in,
    };
    headers(&vec![
        (
            Limit::Requests,
            budget(REQUESTS_PER_MINUTE, remaining_requests, reset_requests),
        ),
        (
            Limit::Tokens,
            budget(TOKENS_PER_MINUTE, remaining_tokens, Duration::ZERO),
        ),
    ])
}

pub fn headers(standing: &Standing) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(6);
    for (limit, budget) in standing {
        let [limit_name, remaining_name, reset_name] = match limit {
            Limit::Requests => REQUESTS,
            Limit::Tokens => TOKENS,
            Limit::InputTokens | Limit::OutputTokens => continue,
        };
        headers.insert(HeaderName::from_static(limit_name), HeaderValue::from(budget.limit));
        headers.insert(
            HeaderName::from_static(remaining_name),
            HeaderValue::from(budget.remaining),
        );
        // OpenAI never shows finer than milliseconds; rounded up so that "full
        // again" is never early.
        let reset = go_duration(Duration::from_millis(whole_millis(budget.full_in)));
        if let Ok(reset) = HeaderValue::from_str(&reset) {
            headers.insert(HeaderName::from_static(reset_name), reset);
        }
    }
    headers
}

/// `duration` as Go's `time.Duration.String()` writes it, which is what OpenAI
/// sends: `0s`; under a second in the largest unit below it (`20ms`, `1.5µs`,
/// `999ns`); else hours, minutes and seconds, leading zero units dropped
/// (`1s`, `6m0s`, `1m30.5s`, `2h0m0s`).
pub fn go_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000_000_000 {
        let (scale, unit) = if nanos < 1_000 {
            (1, "ns")
        } else if nanos < 1_000_000 {
            (1_000, "µs")
        } else {
            (1_000_000, "ms")
        };
        return format!("{}{unit}", decimal(nanos, scale));
    }
    let secs = duration.as_secs();
    let (hours, minutes) = (secs / 3600, secs / 60 % 60);
    let seconds = decimal(
        u128::from(secs % 60) * 1_000_000_000 + u128::from(duration.subsec_nanos()),
        1_000_000_000,
    );
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, _) => format!("{minutes}m{seconds}s"),
        _ => format!("{hours}h{minutes}m{seconds}s"),
    }
}

/// `value / scale` (a power of ten) in decimal, with no trailing zeros after the point.
fn decimal(value: u128, scale: u128) -> String {
    let (whole, fraction) = (value / scale, value % scale);
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = scale.ilog10() as usize;
    let fraction = format!("{fraction:0digits$}");
    format!("{whole}.{}", fraction.trim_end_matches('0'))
}

fn whole_millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

const REQUESTS: [&str; 3] = [
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
];
const TOKENS: [&str; 3] = [
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_as_openai_sends_them() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(1), "1ns"),
            (Duration::from_nanos(999), "999ns"),
            (Duration::from_nanos(1_500), "1.5µs"),
            (Duration::from_micros(1), "1µs"),
            (Duration::from_millis(20), "20ms"),
            (Duration::from_micros(6_250), "6.25ms"),
            (Duration::from_nanos(999_999_999), "999.999999ms"),
            (Duration::from_secs(1), "1s"),
            (Duration::from_millis(17_280), "17.28s"),
            (Duration::from_secs(60), "1m0s"),
            (Duration::from_secs(360), "6m0s"),
            (Duration::from_millis(90_500), "1m30.5s"),
            (Duration::from_nanos(61_000_000_001), "1m1.000000001s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_secs(2 * 3600 + 3 * 60 + 4), "2h3m4s"),
            (Duration::from_secs(100 * 3600), "100h0m0s"),
        ];
        for (duration, expected) in cases {
            assert_eq!(go_duration(duration), expected, "{duration:?}");
        }
    }

    #[test]
    fn only_requests_and_tokens_are_reported() {
        let budget = Budget {
            limit: 60,
            remaining: 59,
            full_in: Duration::from_micros(1_000_001),
        };
        let standing = vec![(Limit::Requests, budget), (Limit::InputTokens, budget)];
        let headers = headers(&standing);
        assert_eq!(headers.len(), 3, "{headers:?}");
        assert_eq!(headers["x-ratelimit-limit-requests"], "60");
        assert_eq!(headers["x-ratelimit-remaining-requests"], "59");
        assert_eq!(
            headers["x-ratelimit-reset-requests"], "1.001s",
            "rounded up to a millisecond"
        );
    }

    #[test]
    fn the_default_tier_reports_both() {
        let headers = default_headers(9_999, 1_999_990, Duration::from_millis(6));
        assert_eq!(headers["x-ratelimit-reset-requests"], "6ms");
        assert_eq!(headers["x-ratelimit-reset-tokens"], "0s");
        assert_eq!(headers["x-ratelimit-remaining-tokens"], "1999990");
    }
}
