//! `POST /v1/chat/completions` answers and refuses like OpenAI.

use serde_json::{json, Value};

use crate::{chat, openai, spawn_simulator};

#[tokio::test]
async fn a_valid_call_gets_a_chat_completion() {
    let sim = spawn_simulator().await;
    let seen = openai(&sim, &chat("hello there")).await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    let body = seen.json();
    assert!(body["id"].as_str().is_some_and(|id| id.starts_with("chatcmpl-")));
    assert_eq!(body["object"], "chat.completion");
    assert!(body["created"].as_i64().is_some_and(|t| t > 1_700_000_000));
    assert_eq!(body["model"], "gpt-4o-mini");
    let choice = &body["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(
        choice["message"]["content"],
        "Simulated reply from gpt-4o-mini: hello there"
    );
    assert_eq!(choice["message"]["refusal"], Value::Null);
    assert_eq!(choice["finish_reason"], "stop");
    // "be brief" is 2 tokens, "hello there" 3; the 45-character reply 12.
    assert_eq!(
        body["usage"],
        json!({ "prompt_tokens": 5, "completion_tokens": 12, "total_tokens": 17 })
    );
    for header in [
        "x-request-id",
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-reset-requests",
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-tokens",
    ] {
        assert!(seen.header(header).is_some(), "missing {header}");
    }
    assert_eq!(seen.header("x-ratelimit-reset-requests"), Some("6ms"));
}

#[tokio::test]
async fn max_tokens_cuts_the_reply() {
    let sim = spawn_simulator().await;
    let mut body = chat("a long prompt that will be cut");
    body["max_tokens"] = json!(3);
    body["n"] = json!(2);
    let body = openai(&sim, &body).await.json();
    assert_eq!(body["choices"][1]["message"]["content"], "Simulated re");
    assert_eq!(body["choices"][1]["finish_reason"], "length");
    assert_eq!(body["usage"]["completion_tokens"], 6, "3 tokens for each of 2 choices");
}

#[tokio::test]
async fn no_key_is_a_401() {
    let sim = spawn_simulator().await;
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", sim.base_url()))
        .json(&chat("x"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().await.expect("json");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("You didn't provide an API key")));
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(
        (&body["error"]["param"], &body["error"]["code"]),
        (&Value::Null, &Value::Null)
    );
}

#[tokio::test]
async fn an_unknown_argument_is_a_400_in_openai_shape() {
    let sim = spawn_simulator().await;
    let mut body = chat("x");
    body["colour"] = json!("red");
    let seen = openai(&sim, &body).await;
    assert_eq!(seen.status, 400);
    assert_eq!(
        seen.json(),
        json!({ "error": {
            "message": "Unrecognized request argument supplied: colour",
            "type": "invalid_request_error",
            "param": null,
            "code": null,
        } })
    );
}

#[tokio::test]
async fn bad_values_are_refused() {
    let sim = spawn_simulator().await;
    let cases = [
        json!({ "messages": [{ "role": "user", "content": "x" }] }),
        json!({ "model": "m", "messages": [] }),
        json!({ "model": "m", "messages": [{ "role": "robot", "content": "x" }] }),
        json!({ "model": "m", "messages": [{ "role": "user", "content": 5 }] }),
        json!({ "model": "m", "messages": [{ "role": "user", "content": "x" }], "temperature": 2.5 }),
        json!({ "model": "m", "messages": [{ "role": "user", "content": "x" }], "top_p": -0.1 }),
        json!({ "model": "m", "messages": [{ "role": "user", "content": "x" }], "max_tokens": 0 }),
        json!({ "model": "m", "messages": [{ "role": "user", "content": "x" }], "n": 0 }),
        json!({ "model": "m", "messages": [{ "role": "user", "content": "x" }], "stop": 5 }),
        json!({ "model": "m", "messages": [{ "role": "user", "content": "x" }], "stream": "yes" }),
        json!({ "model": "m", "messages": [{ "role": "user", "content": "x" }], "stream_options": { "include_usage": true } }),
        json!(["not", "an", "object"]),
    ];
    for body in &cases {
        let seen = openai(&sim, body).await;
        assert_eq!(seen.status, 400, "{body} → {}", seen.text);
        assert_eq!(seen.json()["error"]["type"], "invalid_request_error");
    }
    assert_eq!(
        sim.controls().request_count(),
        cases.len() as u64,
        "rejected requests are counted"
    );
}

#[tokio::test]
async fn optional_arguments_may_be_null() {
    let sim = spawn_simulator().await;
    let mut body = chat("x");
    for field in ["temperature", "top_p", "stop", "n", "stream", "max_completion_tokens"] {
        body[field] = Value::Null;
    }
    body["tools"] = json!([]);
    body["seed"] = json!(7);
    assert_eq!(openai(&sim, &body).await.status, 200);
}

/// What DE refuses at submit because OpenAI refuses it: the simulator must
/// refuse it too, in OpenAI's shape, or an end-to-end test could not catch a gap.
#[tokio::test]
async fn an_empty_stop_list_and_too_many_tokens_are_refused_like_openai() {
    let sim = spawn_simulator().await;
    let mut empty_stop = chat("x");
    empty_stop["stop"] = json!([]);
    let seen = openai(&sim, &empty_stop).await;
    assert_eq!(seen.status, 400, "{}", seen.text);
    assert_eq!(
        seen.json(),
        json!({ "error": {
            "message": "Invalid 'stop': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            "type": "invalid_request_error",
            "param": "stop",
            "code": "empty_array",
        } })
    );

    let mut too_many = chat("x");
    too_many["model"] = json!("gpt-4o");
    too_many["max_tokens"] = json!(20_000);
    let seen = openai(&sim, &too_many).await;
    assert_eq!(seen.status, 400, "{}", seen.text);
    assert_eq!(
        seen.json(),
        json!({ "error": {
            "message": "max_tokens is too large: 20000. This model supports at most 16384 completion tokens, whereas you provided 20000.",
            "type": "invalid_request_error",
            "param": "max_tokens",
            "code": "invalid_value",
        } })
    );

    // OpenAI takes a newline as a stop sequence, unlike Anthropic.
    let mut newline = chat("x");
    newline["stop"] = json!(["\n"]);
    newline["max_tokens"] = json!(16_384);
    newline["model"] = json!("gpt-4o");
    assert_eq!(openai(&sim, &newline).await.status, 200);
}
