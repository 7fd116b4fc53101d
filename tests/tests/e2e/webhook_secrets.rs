//! Each project's webhook signing secret, read and rotated through the API.

use electrons_tests::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn secrets(body: &Value) -> Vec<Value> {
    body["data"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_project_reads_its_secret_and_rotates_it_with_an_overlap() {
    let app = TestApp::spawn().await;
    let (status, first) = app.get("/v1/webhook-secret").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let current = secrets(&first);
    assert_eq!(current.len(), 1, "{first}");
    let secret = current[0]["secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(current[0]["retires_at"], Value::Null);
    let (_, again) = app.get("/v1/webhook-secret").await;
    assert_eq!(secrets(&again)[0]["secret"], secret.as_str(), "stable until rotated");

    let other = app.project_key("other").await;
    let response = app
        .http
        .get(format!("{}/v1/webhook-secret", app.base_url))
        .bearer_auth(&other)
        .send()
        .await
        .expect("get");
    let theirs: Value = response.json().await.expect("json");
    assert_ne!(
        secrets(&theirs)[0]["secret"],
        secret.as_str(),
        "secrets are per project"
    );

    let rotated = app
        .http
        .post(format!("{}/v1/webhook-secret/rotate", app.base_url))
        .bearer_auth(&app.api_key)
        .json(&json!({ "overlap_secs": 3600 }))
        .send()
        .await
        .expect("rotate");
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated: Value = rotated.json().await.expect("json");
    let both = secrets(&rotated);
    assert_eq!(both.len(), 2, "old and new sign during the overlap: {rotated}");
    assert_ne!(both[0]["secret"], secret.as_str(), "the new one comes first");
    assert_eq!(both[0]["retires_at"], Value::Null);
    assert_eq!(both[1]["secret"], secret.as_str());
    assert!(both[1]["retires_at"].is_string());

    let (status, error) = app.post("/v1/webhook-secret/rotate").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an empty body means the default overlap: {error}"
    );
    let refused = app
        .http
        .post(format!("{}/v1/webhook-secret/rotate", app.base_url))
        .bearer_auth(&app.api_key)
        .json(&json!({ "overlap_secs": 99_999_999 }))
        .send()
        .await
        .expect("rotate");
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused: Value = refused.json().await.expect("json");
    assert_eq!(refused["error"]["field"], "overlap_secs");
    app.stop().await;
}
