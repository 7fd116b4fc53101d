use std::time::Duration;

use electrons_tests::{Options, TestApp};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_job_canceled_while_queued_never_reaches_the_provider() {
    let mut app = TestApp::with(Options {
        worker: false,
        ..Default::default()
    })
    .await;
    let (_, job) = app
        .submit(&json!({ "model": "gpt-4o-mini", "input": { "prompt": "never" } }))
        .await;
    let id = job["id"].as_str().expect("id").to_string();
    let (status, canceled) = app.post(&format!("/v1/jobs/{id}/cancel")).await;
    assert_eq!(status, StatusCode::OK, "{canceled}");
    assert_eq!(canceled["status"], "canceled");
    assert!(canceled["completed_at"].is_string());

    // Its message is still in the queue; a worker now consumes and drops it.
    app.start_worker();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(app.sim.controls().request_count(), 0);
    assert_eq!(app.job(&id).await["status"], "canceled");

    let (status, _) = app.post("/v1/jobs/job_0123456789abcdef0123456789abcdef/cancel").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}
