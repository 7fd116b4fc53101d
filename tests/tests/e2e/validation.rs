use electrons_tests::{Options, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, code: &str, field: Option<&str>) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    if let Some(field) = field {
        assert_eq!(body["error"]["field"], field, "{body}");
    }
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_creates_nothing() {
    let app = TestApp::with(Options {
        worker: false,
        ..Default::default()
    })
    .await;

    let (status, body) = app.submit_raw(b"{\"model\": \"gpt-4o\", ".to_vec()).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_json", None);

    let (status, body) = app
        .submit(&json!({ "model": "gpt-5-ultra", "input": { "prompt": "x" } }))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_model",
        Some("model"),
    );

    let (status, body) = app.submit(&json!({ "model": "gpt-4o", "input": {} })).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing_field",
        Some("input.prompt"),
    );

    let (status, body) = app.submit(&json!({ "input": { "prompt": "x" } })).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing_field",
        Some("model"),
    );

    let (status, body) = app
        .submit(&json!({ "model": "gpt-4o", "input": { "prompt": 42 } }))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        Some("input.prompt"),
    );

    let (status, body) = app.submit(&json!({ "model": 7, "input": { "prompt": "x" } })).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        Some("model"),
    );

    let (status, body) = app
        .submit(&json!({ "model": "claude-3.5-haiku", "input": { "prompt": "x", "temperature": 1.5 } }))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        Some("input.temperature"),
    );

    let (status, body) = app
        .submit(&json!({ "model": "gpt-4o", "input": { "prompt": "x" }, "priority": "urgent" }))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        Some("priority"),
    );

    let (status, body) = app
        .submit(&json!({ "model": "gpt-4o", "input": { "prompt": "x" }, "webhook": "ftp://example.com/x" }))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_webhook",
        Some("webhook"),
    );

    let (status, body) = app
        .submit(&json!({ "model": "gpt-4o", "input": { "prompt": "x" }, "colour": "red" }))
        .await;
    assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", None);

    let huge = json!({ "model": "gpt-4o", "input": { "prompt": "x".repeat(2 * 1024 * 1024) } });
    let (status, body) = app.submit_raw(serde_json::to_vec(&huge).expect("json")).await;
    assert_error(status, &body, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None);

    let (status, body) = app
        .submit_with(
            &json!({ "model": "gpt-4o", "input": { "prompt": "x" } }),
            &[("prefer", "wait=soon")],
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_header", Some("Prefer"));

    assert_eq!(app.job_rows().await, 0, "no bad request may create a job");
    app.stop().await;
}

#[tokio::test]
async fn requests_without_a_valid_key_are_refused() {
    let app = TestApp::with(Options {
        worker: false,
        ..Default::default()
    })
    .await;
    let url = format!("{}/v1/jobs", app.base_url);
    let body = json!({ "model": "gpt-4o", "input": { "prompt": "x" } });
    for auth in [None, Some("Bearer wrong-key")] {
        let mut request = app.http.post(&url).json(&body);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.expect("send");
        let status = response.status();
        let body: Value = response.json().await.expect("json");
        assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized", None);
    }
    let (status, body) = app.get("/v1/jobs/not-a-job").await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found", None);
    assert_eq!(app.job_rows().await, 0);
    app.stop().await;
}
