//! Structured output (`response_format`): the answer is checked against the
//! job's schema and asked for again with the reason when it misses, each ask
//! a billed call in the job's metrics; a model that never matches fails the
//! job `invalid_json_output`. On OpenAI's API and on Anthropic's (where the
//! schema is a forced tool's input), streaming or not.

use std::time::Duration;

use electrons_tests::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn city_format() -> Value {
    json!({"type": "json_schema", "json_schema": {"name": "city", "strict": true, "schema": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "population": {"type": "integer", "minimum": 1}},
        "required": ["name", "population"],
        "additionalProperties": false
    }}})
}

fn calls(job: &Value) -> Vec<Value> {
    job["metrics"]["calls"].as_array().cloned().unwrap_or_default()
}

async fn run(app: &TestApp, model: &str, input: Value) -> Value {
    let (status, job) = app.submit(&json!({"model": model, "input": input})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().expect("an id").to_owned();
    app.wait_finished(&id, Duration::from_secs(30)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_that_misses_the_schema_is_asked_for_again_and_one_that_never_matches_fails() {
    let app = TestApp::spawn().await;
    for model in ["gpt-4o-mini", "claude-3.5-haiku"] {
        // Matches at once: one call, the JSON is the output.
        let job = run(
            &app,
            model,
            json!({"prompt": "Name a city as JSON", "response_format": city_format()}),
        )
        .await;
        assert_eq!(job["status"], "succeeded", "{model}: {job}");
        let city: Value = serde_json::from_str(job["output"].as_str().unwrap_or_default()).expect("JSON output");
        assert!(
            city["name"].is_string() && city["population"].as_i64() >= Some(1),
            "{city}"
        );
        assert_eq!(calls(&job).len(), 1, "{job}");

        // Misses once (the directive is in the first ask only), then matches: two billed calls.
        let job = run(
            &app,
            model,
            json!({"prompt": "Name a city as JSON [[sim:json_invalid]]", "response_format": city_format()}),
        )
        .await;
        assert_eq!(job["status"], "succeeded", "{model}: {job}");
        let made = calls(&job);
        assert_eq!(made.len(), 2, "{model}: {job}");
        assert!(made.iter().all(|c| c["billed"] == true), "{job}");
        assert_eq!(job["metrics"]["billed_calls"], 2, "{job}");
        let city: Value = serde_json::from_str(job["output"].as_str().unwrap_or_default()).expect("JSON output");
        assert!(city["population"].is_i64(), "{city}");
        // The tokens are both calls'.
        let reported: u64 = made
            .iter()
            .map(|c| c["usage"]["output_tokens"].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(job["metrics"]["output_tokens"].as_u64(), Some(reported), "{job}");

        // Never matches (the directive is in the system text, sent every time):
        // 1 + DE_JSON_OUTPUT_RETRIES (2) calls, then invalid_json_output with the reason.
        let job = run(
            &app,
            model,
            json!({"prompt": "Name a city as JSON", "system": "Be brief. [[sim:json_invalid]]", "response_format": city_format()}),
        )
        .await;
        assert_eq!(job["status"], "failed", "{model}: {job}");
        assert_eq!(job["error"]["code"], "invalid_json_output", "{job}");
        assert_eq!(job["error"]["retryable"], false, "{job}");
        let message = job["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("after 3 calls"), "{message}");
        assert!(
            job["error"]["provider_body"].is_string(),
            "the last answer is shown: {job}"
        );
        assert_eq!(calls(&job).len(), 3, "{job}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn json_object_and_a_streamed_answer_asked_again() {
    let app = TestApp::spawn().await;
    let job = run(
        &app,
        "gpt-4o-mini",
        json!({"prompt": "Answer in JSON", "response_format": {"type": "json_object"}}),
    )
    .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let answer: Value = serde_json::from_str(job["output"].as_str().unwrap_or_default()).expect("JSON");
    assert!(answer.is_object(), "{answer}");

    // Streaming, missing once: the text starts again after the first answer,
    // and the pieces after the restart are the output.
    let (_, job) = app
        .submit(&json!({"model": "claude-3.5-haiku", "input": {
            "prompt": "Name a city as JSON [[sim:json_invalid]]", "stream": true, "response_format": city_format()
        }}))
        .await;
    let id = job["id"].as_str().expect("an id").to_owned();
    let done = app.wait_finished(&id, Duration::from_secs(30)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let response = app
        .http
        .get(format!("{}/v1/jobs/{id}/events", app.base_url))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .expect("events");
    let body = response.text().await.unwrap_or_default();
    let restart = body.find("event: restart").expect("a restart event");
    let after: String = body[restart..]
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .filter_map(|data| data["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(after, done["output"].as_str().unwrap_or_default(), "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_response_format_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({"type": "json_schema", "json_schema": {"name": "city", "schema": {"type": "no-such-type"}}}),
            "input.response_format.json_schema.schema",
        ),
        (
            json!({"type": "json_schema", "json_schema": {"name": "a city", "schema": {"type": "object"}}}),
            "input.response_format.json_schema.name",
        ),
        (json!({"type": "xml"}), "input.response_format.type"),
    ];
    for (format, field) in cases {
        let (status, body) = app
            .submit(&json!({"model": "gpt-4o-mini", "input": {"prompt": "x", "response_format": format}}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], field, "{body}");
    }
    assert_eq!(app.job_rows().await, 0, "nothing refused was made");
    app.stop().await;
}
