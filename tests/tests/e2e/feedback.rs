//! Feedback on finished jobs, by the job's project only, and its summary per model.

use std::time::Duration;

use electrons_tests::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn call(app: &TestApp, method: Method, path: &str, key: &str, body: Option<&Value>) -> (StatusCode, Value) {
    let mut request = app
        .http
        .request(method, format!("{}{path}", app.base_url))
        .bearer_auth(key);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn finished_job(app: &TestApp, key: &str, model: &str) -> String {
    let (status, job) = app
        .submit_as(key, &json!({"model": model, "input": {"prompt": "a haiku"}}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().expect("id").to_string();
    app.wait_for_as(key, &id, "succeeded", Duration::from_secs(20)).await;
    id
}

#[tokio::test]
async fn a_project_rates_its_finished_jobs_and_reads_the_summary_per_model() {
    let app = TestApp::spawn().await;
    let key = app.api_key.clone();
    let first = finished_job(&app, &key, "gpt-4o-mini").await;
    let second = finished_job(&app, &key, "gpt-4o-mini").await;
    let third = finished_job(&app, &key, "claude-3.5-haiku").await;

    let path = |id: &str| format!("/v1/jobs/{id}/feedback");
    let (status, saved) = call(
        &app,
        Method::POST,
        &path(&first),
        &key,
        Some(&json!({"rating": 2, "tags": ["too long"], "comment": "meh"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    // Sent again, it replaces the first.
    let (status, saved) = call(
        &app,
        Method::POST,
        &path(&first),
        &key,
        Some(&json!({"rating": 5, "tags": ["concise", "on topic", "concise"], "prompt_effectiveness": 4})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["rating"], 5);
    assert_eq!(
        saved["tags"],
        json!(["concise", "on topic"]),
        "trimmed and deduplicated"
    );
    assert_eq!(saved["comment"], Value::Null);
    let (status, _) = call(
        &app,
        Method::POST,
        &path(&second),
        &key,
        Some(&json!({"rating": 3, "tags": ["concise"], "prompt_effectiveness": 2})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = call(&app, Method::POST, &path(&third), &key, Some(&json!({"rating": 4}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, read) = call(&app, Method::GET, &path(&first), &key, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["prompt_effectiveness"], 4);

    // Another project can neither read nor rate these jobs, and changes nothing.
    let other = app.project_key("other").await;
    for (method, body) in [(Method::POST, Some(json!({"rating": 1}))), (Method::GET, None)] {
        let (status, error) = call(&app, method, &path(&first), &other, body.as_ref()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    }
    let (_, read) = call(&app, Method::GET, &path(&first), &key, None).await;
    assert_eq!(read["rating"], 5, "untouched");

    let (status, summary) = call(&app, Method::GET, "/v1/feedback/summary", &key, None).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    let rows = summary["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 2, "{summary}");
    let mini = rows
        .iter()
        .find(|r| r["model"] == "gpt-4o-mini")
        .expect("gpt-4o-mini row");
    assert_eq!(mini["count"], 2);
    assert_eq!(mini["average_rating"], 4.0);
    assert_eq!(mini["ratings"], json!([0, 0, 1, 0, 1]));
    assert_eq!(mini["average_prompt_effectiveness"], 3.0);
    assert_eq!(mini["top_tags"][0], json!({"tag": "concise", "count": 2}));
    let (_, only) = call(
        &app,
        Method::GET,
        "/v1/feedback/summary?model=claude-3.5-haiku",
        &key,
        None,
    )
    .await;
    assert_eq!(only["data"].as_array().map(Vec::len), Some(1), "{only}");
    let (_, theirs) = call(&app, Method::GET, "/v1/feedback/summary", &other, None).await;
    assert_eq!(theirs["data"], json!([]), "{theirs}");
    let (_, past) = call(
        &app,
        Method::GET,
        "/v1/feedback/summary?from=2020-01-01&to=2020-01-31",
        &key,
        None,
    )
    .await;
    assert_eq!(past["data"], json!([]));
    let (status, all) = app.admin(Method::GET, "/v1/admin/feedback/summary", None).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["data"].as_array().map(Vec::len), Some(2));
    app.stop().await;
}

#[tokio::test]
async fn feedback_is_for_finished_jobs_and_bad_feedback_changes_nothing() {
    let app = TestApp::spawn().await;
    let key = app.api_key.clone();
    let (_, running) = app
        .submit(&json!({"model": "gpt-4o-mini", "input": {"prompt": "slow [[sim:latency=4000]]"}}))
        .await;
    let running = running["id"].as_str().expect("id").to_string();
    let (status, error) = call(
        &app,
        Method::POST,
        &format!("/v1/jobs/{running}/feedback"),
        &key,
        Some(&json!({"rating": 4})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["error"]["code"], "job_not_finished");

    let done = finished_job(&app, &key, "gpt-4o-mini").await;
    let path = format!("/v1/jobs/{done}/feedback");
    for (body, field) in [
        (json!({"rating": 0}), "rating"),
        (json!({"rating": 6}), "rating"),
        (json!({"rating": 3, "prompt_effectiveness": 9}), "prompt_effectiveness"),
        (json!({"rating": 3, "tags": [" "]}), "tags[0]"),
        (json!({"rating": 3, "comment": "x".repeat(4001)}), "comment"),
        (json!({"rating": "5"}), "rating"),
        (json!({}), ""),
    ] {
        let (status, error) = call(&app, Method::POST, &path, &key, Some(&body)).await;
        assert!(
            matches!(status, StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY),
            "{body}: {status} {error}"
        );
        assert!(error["error"]["code"].is_string(), "{error}");
        if !field.is_empty() {
            assert_eq!(error["error"]["field"], field, "{body}: {error}");
        }
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM job_feedback")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(rows, 0);
    let (status, _) = call(&app, Method::GET, "/v1/jobs/not-a-job/feedback", &key, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, error) = call(&app, Method::GET, "/v1/feedback/summary?from=yesterday", &key, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "from");
    app.stop().await;
}
