use std::time::Duration;

use electrons_simulator::Fault;
use electrons_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn two_server_errors_then_success_takes_three_attempts() {
    let app = TestApp::spawn().await;
    app.sim
        .controls()
        .push_script([Fault::Status { status: 500 }, Fault::Status { status: 500 }]);
    let (_, job) = app
        .submit(&json!({ "model": "gpt-4o-mini", "input": { "prompt": "persist" } }))
        .await;
    let done = app
        .wait_for(job["id"].as_str().expect("id"), "succeeded", Duration::from_secs(20))
        .await;
    assert_eq!(done["attempts"], 3, "{done}");
    assert!(done["output"].as_str().expect("output").contains("persist"));
    assert!(done["error"].is_null(), "a success clears the last error: {done}");
    assert_eq!(app.sim.controls().request_count(), 3);
    app.stop().await;
}

#[tokio::test]
async fn a_rejected_request_fails_with_the_providers_message() {
    let app = TestApp::spawn().await;
    app.sim.controls().push_script([Fault::Status { status: 400 }]);
    let (_, job) = app
        .submit(&json!({ "model": "claude-3.5-sonnet", "input": { "prompt": "bad" } }))
        .await;
    let failed = app
        .wait_for(job["id"].as_str().expect("id"), "failed", Duration::from_secs(20))
        .await;
    assert_eq!(failed["attempts"], 1);
    assert_eq!(failed["error"]["code"], "provider_error");
    assert_eq!(failed["error"]["provider_status"], 400);
    assert_eq!(failed["error"]["retryable"], false);
    let message = failed["error"]["message"].as_str().expect("message");
    assert!(
        message.contains("invalid_request_error"),
        "the provider's own words: {message}"
    );
    assert!(!message.contains("sim-key"), "never the key: {message}");
    assert_eq!(app.sim.controls().request_count(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_429_retry_waits_at_least_retry_after() {
    let app = TestApp::spawn().await;
    app.sim
        .controls()
        .push_script([Fault::RateLimit { retry_after_secs: 2 }]);
    let (_, job) = app
        .submit(&json!({ "model": "gpt-4o-mini", "input": { "prompt": "patience" } }))
        .await;
    let done = app
        .wait_for(job["id"].as_str().expect("id"), "succeeded", Duration::from_secs(20))
        .await;
    assert_eq!(done["attempts"], 1, "a rate-limited call does not use up an attempt");
    let calls = app.sim.controls().requests();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].status, 429);
    let gap = calls[1].at - calls[0].at;
    assert!(gap >= chrono::Duration::milliseconds(2000), "retried after {gap}");
    app.stop().await;
}

#[tokio::test]
async fn attempts_run_out_after_max_attempts() {
    let app = TestApp::spawn().await;
    app.sim
        .controls()
        .set_default_fault(Some(Fault::Status { status: 503 }));
    let (_, job) = app
        .submit(&json!({ "model": "gpt-4o-mini", "input": { "prompt": "doomed" } }))
        .await;
    let failed = app
        .wait_for(job["id"].as_str().expect("id"), "failed", Duration::from_secs(30))
        .await;
    assert_eq!(failed["attempts"], app.settings.jobs.max_attempts);
    assert_eq!(failed["error"]["provider_status"], 503);
    assert_eq!(
        app.sim.controls().request_count() as i32,
        app.settings.jobs.max_attempts
    );
    app.stop().await;
}
