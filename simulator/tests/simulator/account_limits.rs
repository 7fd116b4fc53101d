//! Simulated account rate limits: each provider's own headers, buckets that run
//! down, 429s once an enforced budget is spent, and usage on every record.

use std::time::Duration;

use chrono::{DateTime, Utc};
use electrons_simulator::{AccountLimits, Fault};
use serde_json::{json, Value};

use crate::{anthropic, chat, message, openai, spawn_simulator, Seen};

#[tokio::test]
async fn openai_reports_the_account_in_its_own_headers() {
    let sim = spawn_simulator().await;
    sim.controls().set_account_limits(Some(AccountLimits {
        requests_per_minute: Some(10),
        // Low enough that refilling between charge and header is under a token.
        tokens_per_minute: Some(6_000),
        input_tokens_per_minute: Some(50),
        ..AccountLimits::default()
    }));
    let first = openai(&sim, &chat("hello there")).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("x-ratelimit-limit-requests"), Some("10"));
    assert_eq!(first.header("x-ratelimit-remaining-requests"), Some("9"));
    let reset = go_duration(first.header("x-ratelimit-reset-requests"));
    assert!(
        reset > Duration::from_millis(5_900) && reset <= Duration::from_secs(6),
        "one request refills in 6 s, not {reset:?}"
    );
    let used = first.json()["usage"]["total_tokens"].as_u64().expect("usage");
    assert_eq!(first.header("x-ratelimit-limit-tokens"), Some("6000"));
    assert_eq!(remaining(&first, "x-ratelimit-remaining-tokens"), 6_000 - used);
    let reset = go_duration(first.header("x-ratelimit-reset-tokens"));
    assert!(
        reset > Duration::ZERO && reset <= Duration::from_millis(10 * used),
        "100 tokens a second refill {used} in {reset:?}"
    );
    assert!(
        !first.headers.keys().any(|name| name.as_str().contains("input")),
        "OpenAI has no input-token limit: {:?}",
        first.headers
    );

    let second = openai(&sim, &chat("hello there")).await;
    assert_eq!(second.header("x-ratelimit-remaining-requests"), Some("8"));
    assert!(remaining(&second, "x-ratelimit-remaining-tokens") < 6_000 - used);
}

#[tokio::test]
async fn only_the_limits_that_are_set_are_reported_on_every_answer() {
    let sim = spawn_simulator().await;
    sim.controls().set_account_limits(Some(AccountLimits {
        requests_per_minute: Some(5),
        ..AccountLimits::default()
    }));
    sim.controls().push_script([Fault::Status { status: 500 }]);
    let failed = openai(&sim, &chat("x")).await;
    let refused = openai(&sim, &json!({ "model": "gpt-4o-mini" })).await;
    let served = openai(&sim, &chat("x")).await;
    for (seen, status) in [(&failed, 500), (&refused, 400), (&served, 200)] {
        assert_eq!(seen.status, status, "{}", seen.text);
        assert_eq!(seen.header("x-ratelimit-limit-requests"), Some("5"));
        for absent in [
            "x-ratelimit-limit-tokens",
            "x-ratelimit-remaining-tokens",
            "x-ratelimit-reset-tokens",
        ] {
            assert_eq!(seen.header(absent), None, "{absent} on a {status}");
        }
    }
    assert_eq!(
        served.header("x-ratelimit-remaining-requests"),
        Some("3"),
        "the 500 was charged, the 400 was not"
    );
    assert!(failed.header("x-request-id").is_some(), "other headers stay");
}

#[tokio::test]
async fn anthropic_reports_the_account_in_its_own_headers() {
    let sim = spawn_simulator().await;
    sim.controls().set_account_limits(Some(AccountLimits {
        requests_per_minute: Some(50),
        tokens_per_minute: Some(6_000),
        input_tokens_per_minute: Some(3_000),
        output_tokens_per_minute: Some(600),
        enforce: false,
    }));
    let before = Utc::now();
    let first = anthropic(&sim, &message("hello there")).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let usage = &first.json()["usage"];
    let input = usage["input_tokens"].as_u64().expect("input tokens");
    let output = usage["output_tokens"].as_u64().expect("output tokens");
    for (name, limit, left) in [
        ("requests", 50, 49),
        ("tokens", 6_000, 6_000 - input - output),
        ("input-tokens", 3_000, 3_000 - input),
        ("output-tokens", 600, 600 - output),
    ] {
        let header = |part: &str| format!("anthropic-ratelimit-{name}-{part}");
        assert_eq!(first.header(&header("limit")), Some(limit.to_string().as_str()));
        assert_eq!(remaining(&first, &header("remaining")), left, "{name}");
        let reset = reset_time(&first, &header("reset"));
        // The slowest, output, refills in 1.5 s; whole seconds, rounded up.
        assert!(
            reset > before && reset <= Utc::now() + Duration::from_secs(3),
            "{name} full again at {reset}, sent at {before}"
        );
    }
    assert_eq!(first.header("x-ratelimit-limit-requests"), None);

    let second = anthropic(&sim, &message("hello there")).await;
    assert_eq!(remaining(&second, "anthropic-ratelimit-requests-remaining"), 48);
    assert!(remaining(&second, "anthropic-ratelimit-output-tokens-remaining") < 600 - output);
}

#[tokio::test]
async fn an_enforced_budget_runs_out_with_429s() {
    let sim = spawn_simulator().await;
    sim.controls().set_account_limits(Some(AccountLimits {
        requests_per_minute: Some(2),
        enforce: true,
        ..AccountLimits::default()
    }));
    for _ in 0..2 {
        assert_eq!(openai(&sim, &chat("x")).await.status, 200);
    }
    sim.controls().push_script([Fault::Status { status: 500 }]);
    let refused = openai(&sim, &chat("x")).await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert_eq!(refused.header("retry-after"), Some("30"), "one request per 30 s");
    assert_eq!(refused.json()["error"]["code"], "rate_limit_exceeded");
    assert_eq!(refused.header("x-ratelimit-remaining-requests"), Some("0"));

    // Anthropic is a separate account; the 500 is still scripted.
    assert_eq!(anthropic(&sim, &message("x")).await.status, 500);
    assert_eq!(anthropic(&sim, &message("x")).await.status, 200);
    let refused = anthropic(&sim, &message("x")).await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    let wait: u64 = refused
        .header("retry-after")
        .and_then(|s| s.parse().ok())
        .expect("retry-after");
    assert!((1..=30).contains(&wait), "retry-after {wait}");
    assert_eq!(refused.json()["error"]["type"], "rate_limit_error");

    let statuses: Vec<(u16, u64, u64)> = sim
        .controls()
        .requests()
        .iter()
        .map(|r| (r.status, r.input_tokens, r.output_tokens))
        .collect();
    assert_eq!(statuses.len(), 6);
    assert_eq!(statuses[2], (429, 0, 0));
    assert_eq!(statuses[5], (429, 0, 0));
    assert_eq!(
        sim.controls()
            .max_in_window(Duration::from_secs(60), |r| u64::from(r.status == 200)),
        3
    );
}

#[tokio::test]
async fn without_enforcement_only_the_headers_tell() {
    let sim = spawn_simulator().await;
    sim.controls().set_account_limits(Some(AccountLimits {
        requests_per_minute: Some(1),
        ..AccountLimits::default()
    }));
    for _ in 0..3 {
        let seen = anthropic(&sim, &message("x")).await;
        assert_eq!(seen.status, 200);
        assert_eq!(seen.header("anthropic-ratelimit-requests-remaining"), Some("0"));
    }
}

#[tokio::test]
async fn usage_is_recorded_for_every_request() {
    let sim = spawn_simulator().await;
    let chat_usage = openai(&sim, &chat("count me")).await.json()["usage"].clone();
    let message_usage = anthropic(&sim, &message("count me too")).await.json()["usage"].clone();
    sim.controls()
        .push_script([Fault::Status { status: 503 }, Fault::Malformed]);
    assert_eq!(openai(&sim, &chat("count me")).await.status, 503);
    assert_eq!(openai(&sim, &chat("count me")).await.status, 200);
    assert_eq!(openai(&sim, &json!({ "model": "gpt-4o-mini" })).await.status, 400);

    let usage: Vec<(u64, u64)> = sim
        .controls()
        .requests()
        .iter()
        .map(|r| (r.input_tokens, r.output_tokens))
        .collect();
    let tokens = |usage: &Value, input: &str, output: &str| {
        (
            usage[input].as_u64().expect("input"),
            usage[output].as_u64().expect("output"),
        )
    };
    let chat_tokens = tokens(&chat_usage, "prompt_tokens", "completion_tokens");
    assert!(chat_tokens.0 > 0 && chat_tokens.1 > 0, "{chat_usage}");
    assert_eq!(
        usage,
        [
            chat_tokens,
            tokens(&message_usage, "input_tokens", "output_tokens"),
            (0, 0),
            chat_tokens,
            (0, 0),
        ],
        "errors report none; a malformed 200 counts the reply it cut short"
    );
    let in_a_minute = sim
        .controls()
        .max_in_window(Duration::from_secs(60), |r| r.input_tokens + r.output_tokens);
    assert_eq!(in_a_minute, usage.iter().map(|(i, o)| i + o).sum::<u64>());
    let first = sim.controls().requests()[0].at;
    assert_eq!(sim.controls().requests_between(first, Utc::now()), 5);
}

#[tokio::test]
async fn the_admin_api_sets_and_clears_account_limits() {
    let sim = spawn_simulator().await;
    let http = reqwest::Client::new();
    let url = format!("{}/_sim/account-limits", sim.base_url());
    let get = || fetch(&http, &url);
    assert_eq!(get().await, Value::Null);

    let limits = json!({ "requests_per_minute": 1, "enforce": true });
    let put = http.put(&url).json(&limits).send().await.expect("put");
    assert_eq!(put.status().as_u16(), 200);
    let expected = json!({
        "requests_per_minute": 1,
        "tokens_per_minute": null,
        "input_tokens_per_minute": null,
        "output_tokens_per_minute": null,
        "enforce": true,
    });
    assert_eq!(put.json::<Value>().await.expect("json"), expected);
    assert_eq!(get().await, expected);
    assert_eq!(openai(&sim, &chat("x")).await.status, 200);
    assert_eq!(openai(&sim, &chat("x")).await.status, 429);

    let bad = http
        .put(&url)
        .json(&json!({ "requests_per_hour": 5 }))
        .send()
        .await
        .expect("bad put");
    assert_eq!(bad.status().as_u16(), 400);
    assert_eq!(get().await, expected, "a bad PUT changes nothing");

    let deleted = http.delete(&url).send().await.expect("delete");
    assert_eq!(deleted.json::<Value>().await.expect("json"), Value::Null);
    let seen = openai(&sim, &chat("x")).await;
    assert_eq!(seen.status, 200);
    assert_eq!(
        seen.header("x-ratelimit-limit-requests"),
        Some("10000"),
        "back to the default tier"
    );

    http.put(&url).json(&limits).send().await.expect("put");
    http.post(format!("{}/_sim/reset", sim.base_url()))
        .send()
        .await
        .expect("reset");
    assert_eq!(get().await, Value::Null, "reset clears account limits");
}

async fn fetch(http: &reqwest::Client, url: &str) -> Value {
    let response = http.get(url).send().await.expect("get");
    response.json().await.expect("json")
}

fn remaining(seen: &Seen, name: &str) -> u64 {
    seen.header(name)
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("{name} is not a count: {:?}", seen.header(name)))
}

fn reset_time(seen: &Seen, name: &str) -> DateTime<Utc> {
    let value = seen.header(name).unwrap_or_default();
    assert!(value.ends_with('Z'), "{name} {value:?} is not UTC");
    DateTime::parse_from_rfc3339(value)
        .unwrap_or_else(|e| panic!("{name} {value:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

/// Reads a Go duration (`1m30.5s`, `20ms`, `6m0s`) the way a client must.
fn go_duration(value: Option<&str>) -> Duration {
    let value = value.expect("a reset header");
    let mut rest = value;
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or_else(|| panic!("{value:?}: a number without a unit"));
        let number: f64 = rest[..number_end].parse().unwrap_or_else(|e| panic!("{value:?}: {e}"));
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "µs" | "us" => 1e-6,
            "ns" => 1e-9,
            unit => panic!("{value:?}: unknown unit {unit:?}"),
        };
        total += Duration::from_secs_f64(number * seconds_per_unit);
        rest = &rest[unit_end..];
    }
    total
}
