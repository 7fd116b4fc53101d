use electrons_tests::{Options, TestApp};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn same_key_twice_gives_one_job() {
    let app = TestApp::with(Options {
        worker: false,
        ..Default::default()
    })
    .await;
    let body = json!({ "model": "gpt-4o-mini", "input": { "prompt": "once" } });
    let (first_status, first) = app.submit_with(&body, &[("idempotency-key", "order-42")]).await;
    let (second_status, second) = app.submit_with(&body, &[("idempotency-key", "order-42")]).await;
    assert_eq!(first_status, StatusCode::ACCEPTED);
    assert_eq!(second_status, StatusCode::OK);
    assert_eq!(first["id"], second["id"]);
    assert_eq!(app.job_rows().await, 1);
    app.stop().await;
}

#[tokio::test]
async fn same_key_with_another_body_is_a_conflict() {
    let app = TestApp::with(Options {
        worker: false,
        ..Default::default()
    })
    .await;
    let (status, _) = app
        .submit_with(
            &json!({ "model": "gpt-4o-mini", "input": { "prompt": "one" } }),
            &[("idempotency-key", "k1")],
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, error) = app
        .submit_with(
            &json!({ "model": "gpt-4o-mini", "input": { "prompt": "two" } }),
            &[("idempotency-key", "k1")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["error"]["code"], "idempotency_key_reused");
    assert_eq!(app.job_rows().await, 1);
    app.stop().await;
}
