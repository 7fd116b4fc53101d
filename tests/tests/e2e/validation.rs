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

/// Values each provider's API reference refuses with a 4xx: DE answers 422
/// naming the field, writes no job and calls no provider. The simulator refuses
/// the same requests (simulator tests), so neither side can drift unseen.
#[tokio::test]
async fn values_the_provider_would_refuse_are_refused_at_submit() {
    let app = TestApp::spawn().await;
    let text = |model: &str, input: Value| json!({ "model": model, "input": input });
    let render = |clips: Value| json!({ "model": "shotstack-render", "input": { "timeline": { "tracks": [{ "clips": clips }] } } });
    let around = |key: &str, value: Value| {
        let mut body = render(json!([{ "asset": { "type": "title", "text": "Hi" }, "start": 0, "length": 2 }]));
        body["input"]["timeline"][key] = value;
        body
    };
    let title = json!({ "asset": { "type": "title", "text": "Hi" }, "start": 0, "length": 2 });
    let src = "https://example.com/a.mp4";
    let c0 = "input.timeline.tracks[0].clips[0]";
    let (invalid, missing) = ("invalid_field", "missing_field");
    let cases = [
        (
            text("gpt-4o", json!({ "prompt": "x", "stop": [] })),
            invalid,
            "input.stop".to_string(),
        ),
        (
            text("gpt-4o", json!({ "prompt": "x", "stop": ["END", ""] })),
            invalid,
            "input.stop[1]".into(),
        ),
        (
            text("claude-3.5-haiku", json!({ "prompt": "x", "stop": ["\n"] })),
            invalid,
            "input.stop[0]".into(),
        ),
        (
            text("gpt-4o", json!({ "messages": [{ "role": "user", "content": "  \n" }] })),
            invalid,
            "input.messages[0].content".into(),
        ),
        (
            text(
                "claude-3.5-sonnet",
                json!({ "messages": [
                { "role": "user", "content": "Name a colour" },
                { "role": "assistant", "content": "Sure, " },
            ] }),
            ),
            invalid,
            "input.messages[1].content".into(),
        ),
        (
            text("gpt-4o-mini", json!({ "prompt": "x", "system": " " })),
            invalid,
            "input.system".into(),
        ),
        (
            render(json!([{ "asset": { "type": "videoo", "src": src }, "start": 0, "length": 2 }])),
            invalid,
            format!("{c0}.asset.type"),
        ),
        (
            render(json!([title, { "asset": { "type": "video", "src": src }, "start": 2, "duration": 5 }])),
            invalid,
            "input.timeline.tracks[0].clips[1].duration".into(),
        ),
        (
            render(json!([{ "asset": { "type": "title" }, "start": 0, "length": 2 }])),
            missing,
            format!("{c0}.asset.text"),
        ),
        (
            render(json!([{ "asset": { "type": "html", "css": "p {}" }, "start": 0, "length": 2 }])),
            missing,
            format!("{c0}.asset.html"),
        ),
        (
            render(json!([{ "asset": { "type": "luma" }, "start": 0, "length": 2 }])),
            missing,
            format!("{c0}.asset.src"),
        ),
        (
            render(json!([{ "asset": { "type": "video" }, "start": 0, "length": 2 }])),
            missing,
            format!("{c0}.asset.src"),
        ),
        (
            json!({ "model": "shotstack-render", "input": { "timeline": { "tracks": [{ "clips": [title], "name": "x" }] } } }),
            invalid,
            "input.timeline.tracks[0].name".into(),
        ),
        (
            around("soundtrack", json!({ "effect": "fadeIn" })),
            missing,
            "input.timeline.soundtrack.src".into(),
        ),
        (
            around(
                "soundtrack",
                json!({ "src": "https://example.com/a.mp3", "effect": "fade" }),
            ),
            invalid,
            "input.timeline.soundtrack.effect".into(),
        ),
        (
            around("fonts", json!([{}])),
            missing,
            "input.timeline.fonts[0].src".into(),
        ),
        (around("cache", json!("no")), invalid, "input.timeline.cache".into()),
        (
            text("veo-3.1", json!({ "prompt": "waves", "seed": 42 })),
            invalid,
            "input.seed".into(),
        ),
    ];
    for (body, code, field) in &cases {
        let (status, answer) = app.submit(body).await;
        assert_error(
            status,
            &answer,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            Some(field.as_str()),
        );
    }
    assert_eq!(app.job_rows().await, 0, "no refused request may create a job");
    assert_eq!(app.sim.controls().request_count(), 0, "no provider was called");
    app.stop().await;
}

/// A body must say it is JSON: `text/plain` (or no `Content-Type` at all) is a
/// 415 that writes nothing, on every route that takes a body; a `charset`
/// parameter is fine, and routes that take no body need no `Content-Type`.
#[tokio::test]
async fn bodies_not_labelled_json_are_refused_with_415() {
    let app = TestApp::with(Options {
        worker: false,
        ..Default::default()
    })
    .await;
    let submit = json!({ "model": "gpt-4o-mini", "input": { "prompt": "x" } }).to_string();
    let send = |method: reqwest::Method, path: &str, content_type: Option<&str>, body: Option<String>| {
        let token = if path.starts_with("/v1/admin") {
            app.operator_token().to_owned()
        } else {
            app.api_key.clone()
        };
        let mut request = app
            .http
            .request(method, format!("{}{path}", app.base_url))
            .bearer_auth(token);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        async move {
            let response = request.send().await.expect("send");
            let status = response.status();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    let routes = [
        (reqwest::Method::POST, "/v1/jobs", submit.clone()),
        (
            reqwest::Method::POST,
            "/v1/webhook-secret/rotate",
            json!({}).to_string(),
        ),
        (
            reqwest::Method::POST,
            "/v1/webhook-endpoints/enable",
            json!({ "url": "https://example.com/hook" }).to_string(),
        ),
        (
            reqwest::Method::PUT,
            "/v1/admin/rate-limits/test-limit",
            json!({ "provider": "openai", "requests_per_interval": 60, "request_interval_ms": 60000 }).to_string(),
        ),
    ];
    for (method, path, body) in &routes {
        for content_type in [Some("text/plain"), Some("application/merge-patch+json"), None] {
            let (status, error) = send(method.clone(), path, content_type, Some(body.clone())).await;
            assert_error(
                status,
                &error,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                Some("Content-Type"),
            );
        }
    }
    assert_eq!(app.job_rows().await, 0, "a refused body creates no job");
    let secrets: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_secrets")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(secrets, 0, "a refused rotation creates no secret");
    let limits: i64 = sqlx::query_scalar("SELECT count(*) FROM rate_limits WHERE id = 'test-limit'")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(limits, 0, "a refused PUT sets no limit");

    let (status, job) = send(
        reqwest::Method::POST,
        "/v1/jobs",
        Some("application/json; charset=utf-8"),
        Some(submit),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(app.job_rows().await, 1);

    // No body, no Content-Type: the routes that take none, and the optional one.
    let id = job["id"].as_str().expect("id");
    let (status, canceled) = app.post(&format!("/v1/jobs/{id}/cancel")).await;
    assert_eq!(status, StatusCode::OK, "{canceled}");
    let (status, rotated) = app.post("/v1/webhook-secret/rotate").await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    // An empty body labelled as a form (what `curl -X POST -d ''` sends) is no body either.
    let form = Some("application/x-www-form-urlencoded");
    let (status, rotated) = send(
        reqwest::Method::POST,
        "/v1/webhook-secret/rotate",
        form,
        Some(String::new()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    app.stop().await;
}
