//! Fallbacks: a job naming fallback models moves to the next when its
//! model's provider is exhausted — a 429 asking for a long wait, a second
//! server error in a row — and succeeds there, the job recording which model
//! served it and why it moved; fallbacks that could not serve the job are
//! refused at submit naming the field.

use std::time::Duration;

use electrons_simulator::Fault;
use electrons_tests::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn calls(job: &Value) -> Vec<Value> {
    job["metrics"]["calls"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_with_a_long_retry_after_moves_the_job_to_its_fallback() {
    let app = TestApp::spawn().await;
    // OpenAI's answer: wait an hour.
    app.sim
        .controls()
        .push_script([Fault::RateLimit { retry_after_secs: 3600 }]);
    let (status, job) = app
        .submit(&json!({"model": "gpt-4o-mini", "input": {"prompt": "hello"}, "fallbacks": ["claude-3.5-haiku"]}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["fallbacks"], json!(["claude-3.5-haiku"]), "{job}");
    let id = job["id"].as_str().expect("an id").to_owned();
    let done = app.wait_finished(&id, Duration::from_secs(30)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    // Served by the fallback, saying so; nothing left to fall back on.
    assert_eq!(done["model"], "claude-3.5-haiku", "{done}");
    assert_eq!(done["provider"], "anthropic", "{done}");
    assert!(done["output"].as_str().is_some_and(|o| o.contains("claude")), "{done}");
    assert!(done.get("fallbacks").is_none(), "{done}");
    let moves = done["metrics"]["fallbacks"].as_array().cloned().unwrap_or_default();
    assert_eq!(moves.len(), 1, "{done}");
    assert_eq!(moves[0]["from"], "gpt-4o-mini");
    assert_eq!(moves[0]["to"], "claude-3.5-haiku");
    assert_eq!(moves[0]["provider"], "openai");
    let reason = moves[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("429") && reason.contains("3600 s"), "{reason}");
    // Both calls are recorded: the refused one unbilled, the one that served billed.
    let made = calls(&done);
    assert_eq!(made.len(), 2, "{done}");
    assert_eq!(made[0]["outcome"], "rate_limited", "{done}");
    assert_eq!(made[0]["billed"], false, "{done}");
    assert_eq!(made[1]["billed"], true, "{done}");
    assert_eq!(done["attempts"], 1, "a move uses up no attempt: {done}");

    // A job without fallbacks waits for OpenAI instead (paused for the hour).
    let (_, waiting) = app
        .submit(&json!({"model": "gpt-4o-mini", "input": {"prompt": "no fallback"}}))
        .await;
    let waiting_id = waiting["id"].as_str().expect("an id").to_owned();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let still = app.job(&waiting_id).await;
    assert_eq!(still["status"], "queued", "{still}");
    assert_eq!(still["model"], "gpt-4o-mini", "{still}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_server_error_in_a_row_moves_the_job_and_bad_fallbacks_are_refused() {
    let app = TestApp::spawn().await;
    app.sim
        .controls()
        .push_script([Fault::Status { status: 500 }, Fault::Status { status: 503 }]);
    let (_, job) = app
        .submit(
            &json!({"model": "gpt-4o-mini", "input": {"prompt": "hello"}, "fallbacks": ["claude-3.5-haiku", "gpt-4o"]}),
        )
        .await;
    let id = job["id"].as_str().expect("an id").to_owned();
    let done = app.wait_finished(&id, Duration::from_secs(30)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["model"], "claude-3.5-haiku", "{done}");
    assert_eq!(done["fallbacks"], json!(["gpt-4o"]), "the rest stays: {done}");
    let reason = done["metrics"]["fallbacks"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("second server-side failure"), "{reason}");
    assert_eq!(calls(&done).len(), 3, "{done}");

    let cases = [
        (json!(["no-such-model"]), "fallbacks[0]", "unknown_model"),
        (json!(["claude-3.5-haiku", "dall-e-3"]), "fallbacks[1]", "invalid_field"),
        (json!(["gpt-4o-mini"]), "fallbacks[0]", "invalid_field"),
        (json!(["gpt-4o", "gpt-4o"]), "fallbacks[1]", "invalid_field"),
        (json!("claude-3.5-haiku"), "fallbacks", "invalid_field"),
    ];
    let before = app.job_rows().await;
    for (fallbacks, field, code) in cases {
        let (status, body) = app
            .submit(&json!({"model": "gpt-4o-mini", "input": {"prompt": "x"}, "fallbacks": fallbacks}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], field, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
    }
    // An input the fallback would refuse (above its output limit) names it too.
    let (status, body) = app
        .submit(&json!({"model": "gpt-4o-mini", "input": {"prompt": "x", "max_tokens": 16000}, "fallbacks": ["claude-3.5-haiku"]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "fallbacks[0]", "{body}");
    assert_eq!(app.job_rows().await, before, "nothing refused was made");

    // A model's configuration names fallbacks its jobs take unless they name their own.
    let model = |fallbacks: Value| {
        json!({"modality": "text", "provider": "openai", "provider_model": "gpt-4o-mini",
               "max_output_tokens": 16384, "fallbacks": fallbacks})
    };
    let put = |fallbacks: Value| {
        let body = model(fallbacks);
        let app = &app;
        async move {
            app.admin(reqwest::Method::PUT, "/v1/admin/models/mini-with-fallback", Some(&body))
                .await
        }
    };
    let (status, refused) = put(json!(["dall-e-3"])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["field"], "fallbacks[0]", "{refused}");
    let (status, saved) = put(json!(["claude-3.5-haiku"])).await;
    assert!(status.is_success(), "{saved}");
    assert_eq!(saved["fallbacks"], json!(["claude-3.5-haiku"]), "{saved}");
    let (_, configured) = app
        .submit(&json!({"model": "mini-with-fallback", "input": {"prompt": "x"}}))
        .await;
    assert_eq!(configured["fallbacks"], json!(["claude-3.5-haiku"]), "{configured}");
    let (_, own) = app
        .submit(&json!({"model": "mini-with-fallback", "input": {"prompt": "x"}, "fallbacks": []}))
        .await;
    assert!(own.get("fallbacks").is_none(), "[] is none: {own}");
    app.stop().await;
}
