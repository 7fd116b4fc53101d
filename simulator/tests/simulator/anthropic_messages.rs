//! `POST /v1/messages` answers and refuses like Anthropic.

use serde_json::{json, Value};

use crate::{anthropic, message, spawn_simulator};

#[tokio::test]
async fn a_valid_call_gets_a_message() {
    let sim = spawn_simulator().await;
    let mut body = message("ignored");
    body["system"] = json!("be brief");
    body["messages"] = json!([{ "role": "user", "content": [{ "type": "text", "text": "hello there" }] }]);
    let seen = anthropic(&sim, &body).await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    let body = seen.json();
    assert!(body["id"].as_str().is_some_and(|id| id.starts_with("msg_")));
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(body["model"], "claude-3-5-haiku-latest");
    assert_eq!(
        body["content"],
        json!([{ "type": "text", "text": "Simulated reply from claude-3-5-haiku-latest: hello there" }])
    );
    assert_eq!(body["stop_reason"], "end_turn");
    assert_eq!(body["stop_sequence"], Value::Null);
    assert_eq!(body["usage"]["input_tokens"], 5);
    assert_eq!(body["usage"]["output_tokens"], 15);
    assert!(seen.header("request-id").is_some());
    assert_eq!(seen.header("anthropic-ratelimit-requests-limit"), Some("4000"));
    let reset = seen.header("anthropic-ratelimit-tokens-reset").unwrap_or_default();
    assert!(
        chrono::DateTime::parse_from_rfc3339(reset).is_ok(),
        "reset {reset:?} is RFC 3339"
    );
}

#[tokio::test]
async fn max_tokens_stops_the_reply() {
    let sim = spawn_simulator().await;
    let mut body = message("a long prompt that will be cut");
    body["max_tokens"] = json!(5);
    let body = anthropic(&sim, &body).await.json();
    assert_eq!(body["stop_reason"], "max_tokens");
    assert_eq!(body["usage"]["output_tokens"], 5);
    assert_eq!(body["content"][0]["text"], "Simulated reply from");
}

#[tokio::test]
async fn headers_are_required() {
    let sim = spawn_simulator().await;
    let url = format!("{}/v1/messages", sim.base_url());
    let http = reqwest::Client::new();
    let no_key = http
        .post(&url)
        .header("anthropic-version", "2023-06-01")
        .json(&message("x"));
    let response = no_key.send().await.expect("send");
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "authentication_error");

    let no_version = http.post(&url).header("x-api-key", "k").json(&message("x"));
    let response = no_version.send().await.expect("send");
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["message"], "anthropic-version: header is required");
}

#[tokio::test]
async fn an_extra_field_is_a_400_in_anthropic_shape() {
    let sim = spawn_simulator().await;
    let mut body = message("x");
    body["colour"] = json!("red");
    let seen = anthropic(&sim, &body).await;
    assert_eq!(seen.status, 400);
    let body = seen.json();
    assert_eq!(body["type"], "error");
    assert_eq!(
        body["error"],
        json!({ "type": "invalid_request_error", "message": "colour: Extra inputs are not permitted" })
    );
    assert!(body["request_id"].as_str().is_some_and(|id| id.starts_with("req_")));
}

#[tokio::test]
async fn bad_values_are_refused() {
    let sim = spawn_simulator().await;
    let user = json!([{ "role": "user", "content": "x" }]);
    let cases = [
        json!({ "model": "m", "messages": user }),
        json!({ "model": "m", "max_tokens": 5, "messages": [] }),
        json!({ "model": "m", "max_tokens": 5, "messages": [{ "role": "system", "content": "x" }] }),
        json!({ "model": "m", "max_tokens": 5, "messages": user, "temperature": 1.5 }),
        json!({ "model": "m", "max_tokens": 5, "messages": user, "system": 5 }),
        json!({ "model": "m", "max_tokens": 5, "messages": user, "stop_sequences": "x" }),
        json!({ "model": "m", "max_tokens": 5, "messages": user, "stream": "yes" }),
        json!({ "model": "m", "max_tokens": -1, "messages": user }),
    ];
    for body in &cases {
        let seen = anthropic(&sim, body).await;
        assert_eq!(seen.status, 400, "{body} → {}", seen.text);
        assert_eq!(seen.json()["error"]["type"], "invalid_request_error");
    }
}

/// What DE refuses at submit for Claude models because Anthropic refuses it:
/// the simulator refuses it too, as a 400 `invalid_request_error`.
#[tokio::test]
async fn whitespace_and_too_many_tokens_are_refused_like_anthropic() {
    let sim = spawn_simulator().await;
    let user = |text: &str| json!([{ "role": "user", "content": text }]);
    let prefill = json!([{ "role": "user", "content": "hi" }, { "role": "assistant", "content": "Sure, " }]);
    let cases = [
        (
            json!({ "model": "m", "max_tokens": 5, "messages": user("x"), "stop_sequences": ["\n"] }),
            "stop_sequences: each stop sequence must contain non-whitespace",
        ),
        (
            json!({ "model": "m", "max_tokens": 5, "messages": user("x"), "stop_sequences": [""] }),
            "stop_sequences: each stop sequence must be non-empty",
        ),
        (
            json!({ "model": "m", "max_tokens": 5, "messages": user(" \t ") }),
            "messages: text content blocks must contain non-whitespace text",
        ),
        (
            json!({ "model": "m", "max_tokens": 5, "messages": prefill }),
            "messages: final assistant content cannot end with trailing whitespace",
        ),
        (
            json!({ "model": "claude-3-5-haiku-20241022", "max_tokens": 8193, "messages": user("x") }),
            "max_tokens: 8193 > 8192, which is the maximum allowed number of output tokens for claude-3-5-haiku-20241022",
        ),
    ];
    for (body, message) in &cases {
        let seen = anthropic(&sim, body).await;
        assert_eq!(seen.status, 400, "{body} → {}", seen.text);
        let answer = seen.json();
        assert_eq!(answer["type"], "error");
        assert_eq!(
            answer["error"],
            json!({ "type": "invalid_request_error", "message": message }),
            "{body}"
        );
    }
}
