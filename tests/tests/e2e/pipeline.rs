use std::time::Duration;

use electrons_tests::TestApp;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn submit_then_poll_until_succeeded() {
    let app = TestApp::spawn().await;
    let (status, job) = app
        .submit(&json!({ "model": "gpt-4o-mini", "input": { "prompt": "Write a haiku about electrons" }, "metadata": { "ref": "abc" } }))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["status"], "queued");
    assert_eq!(job["modality"], "text");
    assert_eq!(job["provider"], "openai");
    assert_eq!(job["metadata"]["ref"], "abc");
    let id = job["id"].as_str().expect("id");
    assert!(id.starts_with("job_"));
    assert_eq!(job["urls"]["get"], format!("{}/v1/jobs/{id}", app.base_url));

    let done = app.wait_for(id, "succeeded", Duration::from_secs(20)).await;
    let output = done["output"].as_str().expect("text output");
    assert!(output.contains("Write a haiku about electrons"), "{output}");
    assert_eq!(done["attempts"], 1);
    assert!(done["metrics"]["input_tokens"].as_u64().unwrap_or(0) > 0, "{done}");
    assert!(done["metrics"]["output_tokens"].as_u64().unwrap_or(0) > 0, "{done}");
    assert!(
        done["metrics"]["estimated_cost_usd"].as_f64().unwrap_or(0.0) > 0.0,
        "{done}"
    );
    assert!(done["started_at"].is_string() && done["completed_at"].is_string());
    assert_eq!(app.sim.controls().request_count(), 1);
    app.stop().await;
}

#[tokio::test]
async fn anthropic_models_run_through_the_messages_api() {
    let app = TestApp::spawn().await;
    let (_, job) = app
        .submit(&json!({ "model": "claude-3.5-haiku", "input": { "prompt": "Name a noble gas", "system": "Be brief", "max_tokens": 50, "temperature": 0.5 } }))
        .await;
    let done = app
        .wait_for(job["id"].as_str().expect("id"), "succeeded", Duration::from_secs(20))
        .await;
    assert!(done["output"].as_str().expect("text").contains("Name a noble gas"));
    let seen = app.sim.controls().requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].endpoint, "anthropic.messages");
    assert_eq!(seen[0].status, 200);
    app.stop().await;
}

#[tokio::test]
async fn prefer_wait_returns_the_finished_job_inline() {
    let app = TestApp::spawn().await;
    let (status, job) = app
        .submit_with(
            &json!({ "model": "gpt-4o", "input": { "prompt": "Say hi" } }),
            &[("prefer", "wait=10")],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(job["status"], "succeeded");
    assert!(job["output"].as_str().expect("output").contains("Say hi"));
    app.stop().await;
}

#[tokio::test]
async fn prefer_wait_gives_up_with_the_job_still_running() {
    let app = TestApp::spawn().await;
    app.sim.controls().set_latency(Duration::from_secs(3));
    let started = std::time::Instant::now();
    let (status, job) = app
        .submit_with(
            &json!({ "model": "gpt-4o", "input": { "prompt": "slow" } }),
            &[("prefer", "wait=1")],
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert!(started.elapsed() >= Duration::from_secs(1) && started.elapsed() < Duration::from_secs(3));
    assert!(job["status"] == "queued" || job["status"] == "running", "{job}");
    app.stop().await;
}

#[tokio::test]
async fn lists_jobs_newest_first_with_a_cursor() {
    let app = TestApp::with(electrons_tests::Options {
        worker: false,
        ..Default::default()
    })
    .await;
    let mut ids = Vec::new();
    for model in ["gpt-4o", "gpt-4o-mini", "gpt-4o-mini"] {
        let (_, job) = app.submit(&json!({ "model": model, "input": { "prompt": "x" } })).await;
        ids.push(job["id"].as_str().expect("id").to_string());
    }
    let (status, page) = app.get("/v1/jobs?limit=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["has_more"], true);
    assert_eq!(page["data"][0]["id"], ids[2].as_str());
    assert_eq!(page["data"][1]["id"], ids[1].as_str());
    let cursor = page["next_cursor"].as_str().expect("cursor");
    let (_, rest) = app.get(&format!("/v1/jobs?limit=2&cursor={cursor}")).await;
    assert_eq!(rest["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(rest["has_more"], false);

    let (_, filtered) = app.get("/v1/jobs?model=gpt-4o-mini&status=queued").await;
    assert_eq!(filtered["data"].as_array().map(Vec::len), Some(2));
    let (status, bad) = app.get("/v1/jobs?status=done").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["error"]["field"], "status");

    let (_, models) = app.get("/v1/models").await;
    let names: Vec<&str> = models["data"]
        .as_array()
        .expect("models")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "claude-3.5-haiku",
            "claude-3.5-sonnet",
            "dall-e-2",
            "dall-e-3",
            "flash-nano-banana",
            "gpt-4o",
            "gpt-4o-mini",
            "ideogram-v2",
            "multilingual-v2",
            "pexels-photos",
            "pexels-videos",
            "shotstack-render",
            "veo-3.1"
        ]
    );
    let modality = |id: &str| {
        models["data"]
            .as_array()
            .and_then(|all| all.iter().find(|m| m["id"] == id))
            .map(|m| m["modality"].clone())
    };
    assert_eq!(modality("veo-3.1"), Some(json!("video")));
    assert_eq!(modality("multilingual-v2"), Some(json!("audio")));
    app.stop().await;
}
