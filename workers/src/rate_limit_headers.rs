//! Reading a provider's report of its rate limits from response headers:
//! OpenAI's `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` (resets as
//! Go-style durations such as `6m0s` or `20ms`) and Anthropic's
//! `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,
//! remaining,reset}` (resets as RFC 3339 times). Unreadable values are ignored:
//! the configured limits still hold.

use std::time::Duration;

use chrono::{DateTime, Utc};
use electrons_domain::limiter::{Observation, Window};
use reqwest::header::HeaderMap;

pub fn openai(headers: &HeaderMap) -> Observation {
    let window = |what: &str| {
        window(
            number(headers, &format!("x-ratelimit-limit-{what}")),
            number(headers, &format!("x-ratelimit-remaining-{what}")),
            text(headers, &format!("x-ratelimit-reset-{what}")).and_then(go_duration),
        )
    };
    Observation {
        requests: window("requests"),
        tokens: window("tokens"),
        ..Default::default()
    }
}

pub fn anthropic(headers: &HeaderMap, now: DateTime<Utc>) -> Observation {
    let window = |what: &str| {
        window(
            number(headers, &format!("anthropic-ratelimit-{what}-limit")),
            number(headers, &format!("anthropic-ratelimit-{what}-remaining")),
            text(headers, &format!("anthropic-ratelimit-{what}-reset"))
                .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
                .map(|at| (at.with_timezone(&Utc) - now).to_std().unwrap_or(Duration::ZERO)),
        )
    };
    Observation {
        requests: window("requests"),
        tokens: window("tokens"),
        input_tokens: window("input-tokens"),
        output_tokens: window("output-tokens"),
    }
}

/// Pexels' `X-Ratelimit-{Limit,Remaining,Reset}`: requests left in the
/// account's monthly period, which resets at an epoch second. The monthly limit
/// is no per-minute rate, so only what remains (and when it comes back) is used:
/// when nothing remains, the fleet stops asking until the reset.
pub fn pexels(headers: &HeaderMap, now: DateTime<Utc>) -> Observation {
    let reset = number(headers, "x-ratelimit-reset")
        .and_then(|epoch| DateTime::from_timestamp(epoch as i64, 0))
        .map(|at| (at - now).to_std().unwrap_or(Duration::ZERO));
    Observation {
        requests: window(None, number(headers, "x-ratelimit-remaining"), reset),
        ..Default::default()
    }
}

fn window(limit: Option<f64>, remaining: Option<f64>, reset: Option<Duration>) -> Option<Window> {
    (limit.is_some() || remaining.is_some()).then_some(Window {
        limit,
        remaining,
        reset,
    })
}

fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

fn number(headers: &HeaderMap, name: &str) -> Option<f64> {
    text(headers, name)?
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
}

/// A Go `time.Duration` string: `1h2m3.5s`, `6m0s`, `20ms`, `1.5µs`.
pub fn go_duration(value: &str) -> Option<Duration> {
    let mut rest = value.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0_f64;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" | "μs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += number * seconds_per_unit;
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod pexels_tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn reads_what_remains_of_the_month() {
        let now = DateTime::from_timestamp(1_000_000, 0).expect("time");
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-limit", HeaderValue::from_static("20000"));
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("1003600"));
        let seen = pexels(&headers, now).requests.expect("requests");
        assert_eq!(seen.limit, None);
        assert_eq!(seen.remaining, Some(0.0));
        assert_eq!(seen.reset, Some(Duration::from_secs(3600)));
        assert!(pexels(&HeaderMap::new(), now).is_empty());
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn reads_go_durations() {
        assert_eq!(go_duration("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(go_duration("20ms"), Some(Duration::from_millis(20)));
        assert_eq!(go_duration("1s"), Some(Duration::from_secs(1)));
        assert_eq!(go_duration("1m30.5s"), Some(Duration::from_millis(90_500)));
        assert_eq!(go_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(go_duration(""), None);
        assert_eq!(go_duration("soon"), None);
        assert_eq!(go_duration("5"), None);
    }

    #[test]
    fn reads_openai_headers() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("x-ratelimit-limit-requests", "500"),
            ("x-ratelimit-remaining-requests", "499"),
            ("x-ratelimit-reset-requests", "120ms"),
            ("x-ratelimit-limit-tokens", "30000"),
            ("x-ratelimit-remaining-tokens", "29000"),
            ("x-ratelimit-reset-tokens", "2s"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        let seen = openai(&headers);
        assert_eq!(
            seen.requests,
            Some(Window {
                limit: Some(500.0),
                remaining: Some(499.0),
                reset: Some(Duration::from_millis(120))
            })
        );
        assert_eq!(seen.tokens.and_then(|w| w.remaining), Some(29000.0));
        assert!(seen.input_tokens.is_none());
        assert!(openai(&HeaderMap::new()).is_empty());
    }

    #[test]
    fn reads_anthropic_headers() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .expect("date");
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("anthropic-ratelimit-requests-limit", "50"),
            ("anthropic-ratelimit-requests-remaining", "0"),
            ("anthropic-ratelimit-requests-reset", "2026-11-25T10:00:03Z"),
            ("anthropic-ratelimit-output-tokens-limit", "8000"),
            ("anthropic-ratelimit-output-tokens-remaining", "not a number"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        let seen = anthropic(&headers, now);
        assert_eq!(
            seen.requests,
            Some(Window {
                limit: Some(50.0),
                remaining: Some(0.0),
                reset: Some(Duration::from_secs(3))
            })
        );
        assert_eq!(seen.output_tokens.and_then(|w| w.remaining), None);
        assert_eq!(seen.output_tokens.and_then(|w| w.limit), Some(8000.0));
    }
}
