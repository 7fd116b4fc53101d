//! The generic HTTP provider: an API no adapter speaks (the simulator's
//! Forge, strict about JSON types) added as a provider of kind `http` with a
//! mapping per model, while the fleet runs. Placeholders keep their JSON
//! types, defaults fill what a job leaves out, the output, usage and error
//! message are read where the mapping's pointers say, an asynchronous API is
//! polled until its status says done or failed, images are stored from the
//! links the answer holds, and the dry run shows exactly the request that
//! was then sent, with the key masked. A mapping that cannot be filled is
//! refused naming the spot, and changes nothing.

use std::time::Duration;

use electrons_simulator::RecordedRequest;
use electrons_tests::{Options, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::ELECTRONS;

const KEY: &str = "forge-VERY-SECRET-key-7a1c";

/// Forge as a provider of kind `http`, allowed enough calls for a test.
async fn add_forge(app: &TestApp) {
    let (status, provider) = app
        .admin(
            Method::PUT,
            "/v1/admin/providers/forge",
            Some(
                &json!({"kind": "http", "base_url": format!("{}/forge/v1", app.sim.base_url()),
                         "api_key": KEY, "timeout_ms": 5000}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{provider}");
    app.set_rate_limit(
        "forge",
        &json!({"provider": "forge", "requests_per_interval": 50, "request_interval_ms": 1000, "request_burst": 20}),
    )
    .await;
}

fn text_mapping() -> Value {
    json!({
        "request": {
            "method": "POST",
            "path": "/generate",
            "headers": {"Authorization": "Token {{api_key}}", "X-Forge-Model": "{{model}}"},
            "body": {
                "model": "{{model}}",
                "input": {"prompt": "{{prompt}}", "system": "{{system}}"},
                "parameters": {"temperature": "{{temperature}}", "max_new_tokens": "{{max_tokens}}", "stop": "{{stop}}"}
            }
        },
        "defaults": {"temperature": 0.7},
        "response": {
            "output": "/output/0/text",
            "input_tokens": "/usage/prompt_tokens",
            "output_tokens": "/usage/generated_tokens",
            "finish_reason": "/finish",
            "request_id": "/id",
            "error_message": "/errors/0/detail"
        }
    })
}

fn async_mapping() -> Value {
    let mut mapping = text_mapping();
    mapping["request"]["path"] = json!("/tasks");
    mapping["response"] = json!({
        "output": "/result/text",
        "input_tokens": "/result/usage/input_tokens",
        "output_tokens": "/result/usage/output_tokens",
        "error_message": "/errors/0/detail"
    });
    mapping["async"] = json!({
        "operation_id": "/task/id",
        "poll": {"path": "/tasks/{{operation_id}}", "headers": {"Authorization": "Token {{api_key}}"}},
        "status": "/task/state",
        "done": ["succeeded"],
        "failed": ["failed"],
        "failure_reason": "/error/message"
    });
    mapping
}

fn image_mapping() -> Value {
    json!({
        "request": {
            "path": "/images",
            "headers": {"Authorization": "Token {{api_key}}"},
            "body": {"model": "{{model}}", "prompt": "{{prompt}}", "width": "{{width}}", "height": "{{height}}",
                     "num_images": "{{n}}", "negative_prompt": "{{negative_prompt}}"}
        },
        "response": {"output": "/data/images", "output_item": "/url", "content_type": "image/png",
                     "error_message": "/errors/0/detail"}
    })
}

/// What a model's dry run answers for `body` (`{"input", "http_mapping"?}`).
async fn dry_run(app: &TestApp, model: &str, body: Value) -> (StatusCode, Value) {
    app.admin(Method::POST, &format!("/v1/admin/models/{model}/dry-run"), Some(&body))
        .await
}

async fn put_model(app: &TestApp, id: &str, model: Value) -> (StatusCode, Value) {
    app.admin(Method::PUT, &format!("/v1/admin/models/{id}"), Some(&model))
        .await
}

async fn add_model(app: &TestApp, id: &str, modality: &str, mapping: Value, pricing: Value) {
    let (status, model) = put_model(
        app,
        id,
        json!({"modality": modality, "provider": "forge", "provider_model": "forge-1", "max_output_tokens": 2048,
               "pricing": pricing, "http_mapping": mapping}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{model}");
}

/// What Forge received for the job whose prompt holds `marker`.
fn sent(app: &TestApp, endpoint: &str, marker: &str) -> RecordedRequest {
    app.sim
        .controls()
        .requests()
        .into_iter()
        .find(|r| r.endpoint == endpoint && r.prompt.as_deref().is_some_and(|p| p.contains(marker)))
        .unwrap_or_else(|| panic!("forge saw no {endpoint} request for {marker}"))
}

async fn submit(app: &TestApp, model: &str, input: Value) -> String {
    let (status, job) = app.submit(&json!({"model": model, "input": input})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    job["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn a_text_api_added_while_running_gets_typed_values_and_the_dry_run_is_exactly_what_is_sent() {
    let app = TestApp::with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    let _worker = app.worker_process(ELECTRONS);
    add_forge(&app).await;
    add_model(
        &app,
        "forge-text",
        "text",
        text_mapping(),
        json!({"input_usd_per_mtok": 1.0, "output_usd_per_mtok": 2.0}),
    )
    .await;

    let input = json!({"prompt": "Write a haiku about types dry-run-1", "system": "Be brief.",
                       "temperature": 0.25, "max_tokens": 40, "stop": ["END"]});
    let (status, dry) = dry_run(&app, "forge-text", json!({"input": input})).await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    let request = &dry["request"];
    assert_eq!(request["method"], "POST");
    assert_eq!(request["url"], format!("{}/forge/v1/generate", app.sim.base_url()));
    assert_eq!(request["headers"]["Authorization"], "Token ****7a1c", "{dry}");
    assert_eq!(request["headers"]["X-Forge-Model"], "forge-1");
    assert_eq!(request["headers"]["content-type"], "application/json");
    assert_eq!(
        request["body"],
        json!({"model": "forge-1", "input": {"prompt": "Write a haiku about types dry-run-1", "system": "Be brief."},
               "parameters": {"temperature": 0.25, "max_new_tokens": 40, "stop": ["END"]}}),
        "numbers stay numbers and lists stay lists"
    );
    assert!(dry["poll"].is_null(), "{dry}");
    assert!(!dry.to_string().contains("VERY-SECRET"), "the key is masked: {dry}");

    // The worker process heard of the provider and the model from the database.
    let id = submit(&app, "forge-text", input).await;
    let done = app.wait_for(&id, "succeeded", Duration::from_secs(30)).await;
    let text = done["output"].as_str().expect("text output");
    assert!(text.starts_with("Simulated reply from forge-1"), "{done}");
    let metrics = &done["metrics"];
    assert!(metrics["input_tokens"].as_u64().is_some_and(|t| t > 0), "{done}");
    assert!(metrics["output_tokens"].as_u64().is_some_and(|t| t > 0), "{done}");
    assert!(metrics["cost_usd"].as_f64().is_some_and(|c| c > 0.0), "{done}");
    assert_eq!(metrics["billed_calls"], 1, "{done}");
    assert!(
        metrics["provider_request_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("gen_")),
        "{done}"
    );
    let request = sent(&app, "forge.generate", "dry-run-1");
    assert_eq!(
        request.body.as_ref(),
        Some(&dry["request"]["body"]),
        "sent what the dry run showed"
    );
    assert_eq!(request.key_last4.as_deref(), Some("7a1c"));

    // A default fills what the job leaves out, with its type; what has neither is left out.
    let id = submit(&app, "forge-text", json!({"prompt": "defaults-2"})).await;
    app.wait_for(&id, "succeeded", Duration::from_secs(30)).await;
    let body = sent(&app, "forge.generate", "defaults-2").body.expect("body");
    assert_eq!(
        body,
        json!({"model": "forge-1", "input": {"prompt": "defaults-2"},
               "parameters": {"temperature": 0.7, "max_new_tokens": 1024}})
    );

    // The provider's error, read where the mapping points (a shape no adapter knows).
    let id = submit(&app, "forge-text", json!({"prompt": "refused-3 [[sim:status=400]]"})).await;
    let failed = app.wait_finished(&id, Duration::from_secs(30)).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["error"]["code"], "provider_error", "{failed}");
    assert_eq!(failed["error"]["provider_status"], 400, "{failed}");
    let message = failed["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("the forge says: bad request"), "{failed}");

    // What the mapping never sends is refused, not dropped.
    let before = app.job_rows().await;
    let (status, refused) = app
        .submit(&json!({"model": "forge-text", "input": {"prompt": "hi", "top_p": 0.5}}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["field"], "input.top_p", "{refused}");
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("never sends it"));
    assert_eq!(app.job_rows().await, before);

    // The key is in no response about the provider or the model.
    for path in [
        "/v1/admin/providers/forge",
        "/v1/admin/models/forge-text",
        "/v1/admin/audit",
    ] {
        let (_, body) = app.admin(Method::GET, path, None).await;
        assert!(!body.to_string().contains("VERY-SECRET"), "{path}: {body}");
    }
}

#[tokio::test]
async fn an_asynchronous_api_is_polled_until_done_and_a_failed_task_fails_the_job_with_its_reason() {
    let app = TestApp::spawn().await;
    app.sim.controls().set_operation_duration(Duration::from_millis(800));
    add_forge(&app).await;
    add_model(
        &app,
        "forge-async",
        "text",
        async_mapping(),
        json!({"usd_per_request": 0.01}),
    )
    .await;

    let input = json!({"prompt": "Tell me later task-1", "max_tokens": 30});
    let (status, dry) = dry_run(&app, "forge-async", json!({"input": input})).await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["request"]["url"], format!("{}/forge/v1/tasks", app.sim.base_url()));
    assert_eq!(dry["poll"]["method"], "GET", "{dry}");
    assert_eq!(
        dry["poll"]["url"],
        format!("{}/forge/v1/tasks/OPERATION_ID", app.sim.base_url())
    );
    assert_eq!(dry["poll"]["headers"]["Authorization"], "Token ****7a1c");
    assert!(dry["poll"]["body"].is_null(), "a GET has no body: {dry}");

    let id = submit(&app, "forge-async", input).await;
    let done = app.wait_for(&id, "succeeded", Duration::from_secs(30)).await;
    assert!(
        done["output"]
            .as_str()
            .is_some_and(|t| t.starts_with("Simulated reply from forge-1")),
        "{done}"
    );
    let metrics = &done["metrics"];
    assert_eq!(metrics["provider_calls"], 1, "polls are not generation calls: {done}");
    assert_eq!(metrics["billed_calls"], 1, "{done}");
    assert!(
        metrics["output_tokens"].as_u64().is_some_and(|t| t > 0),
        "usage from the finished task: {done}"
    );
    assert!(
        (metrics["cost_usd"].as_f64().unwrap_or_default() - 0.01).abs() < 1e-9,
        "{done}"
    );
    let submitted = sent(&app, "forge.task_submit", "task-1");
    assert_eq!(submitted.body.as_ref(), Some(&dry["request"]["body"]));
    let polls = app
        .sim
        .controls()
        .requests()
        .into_iter()
        .filter(|r| r.endpoint == "forge.task" && r.status == 200)
        .count();
    assert!(polls >= 1, "the task was polled");

    let id = submit(
        &app,
        "forge-async",
        json!({"prompt": "doomed task-2 [[sim:operation_fail=GPU on fire]]"}),
    )
    .await;
    let failed = app.wait_finished(&id, Duration::from_secs(30)).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["error"]["code"], "provider_operation_failed", "{failed}");
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("GPU on fire"),
        "{failed}"
    );
    assert_eq!(failed["metrics"]["billed_calls"], 1, "{failed}");
}

#[tokio::test]
async fn an_image_api_is_stored_from_the_links_its_answer_holds() {
    let app = TestApp::spawn().await;
    add_forge(&app).await;
    add_model(
        &app,
        "forge-image",
        "image",
        image_mapping(),
        json!({"usd_per_image": 0.02}),
    )
    .await;

    let id = submit(
        &app,
        "forge-image",
        json!({"prompt": "two kites image-1", "size": "768x768", "n": 2}),
    )
    .await;
    let done = app.wait_for(&id, "succeeded", Duration::from_secs(30)).await;
    let files = done["output"]["files"].as_array().expect("files");
    assert_eq!(files.len(), 2, "{done}");
    assert!(
        files[0]["url"]
            .as_str()
            .is_some_and(|url| url.contains("/image-1.png?")),
        "{done}"
    );
    assert_eq!(files[0]["content_type"], "image/png");
    let url = files[0]["url"].as_str().expect("url");
    let bytes = app
        .http
        .get(url)
        .send()
        .await
        .expect("download")
        .bytes()
        .await
        .expect("bytes");
    assert!(bytes.starts_with(b"\x89PNG"), "a stored PNG");
    assert!(
        (done["metrics"]["cost_usd"].as_f64().unwrap_or_default() - 0.04).abs() < 1e-9,
        "{done}"
    );
    let body = sent(&app, "forge.images", "image-1").body.expect("body");
    assert_eq!(
        body,
        json!({"model": "forge-1", "prompt": "two kites image-1", "width": 768, "height": 768, "num_images": 2})
    );

    let (status, refused) = app
        .submit(&json!({"model": "forge-image", "input": {"prompt": "x", "quality": "hd"}}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["field"], "input.quality", "{refused}");
}

#[tokio::test]
async fn a_mapping_that_cannot_be_filled_is_refused_naming_the_spot_and_changes_nothing() {
    let app = TestApp::spawn().await;
    add_forge(&app).await;
    let model = |mapping: Value| json!({"modality": "text", "provider": "forge", "provider_model": "forge-1", "http_mapping": mapping});
    let changed = |change: fn(&mut Value)| {
        let mut mapping = text_mapping();
        change(&mut mapping);
        model(mapping)
    };
    // Refused as a save refuses any field: 422 when it breaks a rule, 400
    // when it is not even of the field's type.
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            changed(|m| m["request"]["body"]["parameters"]["steps"] = json!("{{steps}}")),
            "http_mapping.request.body.parameters.steps",
            "unknown placeholder {{steps}}",
        ),
        (
            changed(|m| m["response"]["output"] = json!("output[0].text")),
            "http_mapping.response.output",
            "not a JSON pointer",
        ),
        (
            changed(|m| m["request"]["headers"]["Authorization"] = json!("Token sk-live-123")),
            "http_mapping.request.headers.Authorization",
            "{{api_key}}",
        ),
        (
            changed(|m| m["request"]["path"] = json!("/generate/{{stop}}")),
            "http_mapping.request.path",
            "is a list",
        ),
        (
            changed(|m| m["defaults"]["temperature"] = json!("0.7")),
            "http_mapping.defaults.temperature",
            "must be a number",
        ),
        (
            changed(|m| m["request"]["method"] = json!("FETCH")),
            "http_mapping.request.method",
            "expected one of `GET`, `POST`",
        ),
        (
            json!({"modality": "text", "provider": "forge", "provider_model": "forge-1"}),
            "http_mapping",
            "needs an http_mapping",
        ),
        (
            json!({"modality": "text", "provider": "openai", "provider_model": "gpt-4o-mini", "http_mapping": text_mapping()}),
            "http_mapping",
            "only models of http providers",
        ),
        (
            json!({"modality": "audio", "provider": "forge", "provider_model": "forge-1", "http_mapping": text_mapping()}),
            "modality",
            "",
        ),
    ];
    for (write, field, words) in cases {
        let (status, refused) = put_model(&app, "forge-bad", write).await;
        let expected = match field {
            "http_mapping.request.method" => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        assert_eq!(status, expected, "{refused}");
        assert_eq!(refused["error"]["field"], field, "{refused}");
        assert!(
            refused["error"]["message"].as_str().unwrap_or_default().contains(words),
            "{refused}"
        );
        let (status, _) = app.admin(Method::GET, "/v1/admin/models/forge-bad", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "nothing was saved for {field}");
    }

    // A dry run tries a mapping before it is saved, checked as a save would be.
    add_model(&app, "forge-text", "text", text_mapping(), json!({})).await;
    let mut trial = text_mapping();
    trial["request"]["body"]["parameters"]["temperature"] = json!("{{top_p}}");
    let (status, dry) = dry_run(
        &app,
        "forge-text",
        json!({"input": {"prompt": "hi", "top_p": 0.5}, "http_mapping": trial}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["request"]["body"]["parameters"]["temperature"], 0.5, "{dry}");
    let (status, bad) = dry_run(
        &app,
        "forge-text",
        json!({"input": {"prompt": "hi"}, "http_mapping": {"request": {"path": "x"}, "response": {"output": "/a"}}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(bad["error"]["field"], "http_mapping.request.path", "{bad}");
    let (status, bad) = dry_run(&app, "forge-text", json!({"input": {"temperature": 0.5}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert!(
        bad["error"]["field"].as_str().unwrap_or_default().starts_with("input"),
        "{bad}"
    );
    let (status, _) = dry_run(&app, "gpt-4o-mini", json!({"input": {"prompt": "hi"}})).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "only http models have a dry run"
    );
    let (saved_status, saved) = app.admin(Method::GET, "/v1/admin/models/forge-text", None).await;
    assert_eq!(saved_status, StatusCode::OK);
    assert_eq!(saved["http_mapping"], text_mapping(), "the dry run saved nothing");
}
