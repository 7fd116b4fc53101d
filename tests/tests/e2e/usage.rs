//! Usage and cost for every modality: each billed call records what it used in
//! the provider's unit and what that cost under the model's pricing, the job's
//! metrics add them up (failed jobs' billed calls included), and `GET
//! /v1/usage` adds the jobs up per day, project and model, as JSON or CSV, for
//! the caller's project only.

use std::{collections::HashMap, time::Duration};

use electrons_tests::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const FINISH: Duration = Duration::from_secs(40);

async fn finished(app: &TestApp, key: &str, body: Value) -> Value {
    let (status, job) = app.submit_as(key, &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().expect("id").to_string();
    let deadline = tokio::time::Instant::now() + FINISH;
    loop {
        let job = app.job_as(key, &id).await;
        if ["succeeded", "failed", "canceled"].contains(&job["status"].as_str().unwrap_or_default()) {
            return job;
        }
        assert!(tokio::time::Instant::now() < deadline, "not finished: {job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn usage(app: &TestApp, key: &str, query: &str) -> (StatusCode, Value) {
    let response = app
        .http
        .get(format!("{}/v1/usage{query}", app.base_url))
        .bearer_auth(key)
        .send()
        .await
        .expect("usage");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn cost(job: &Value) -> f64 {
    job["metrics"]["cost_usd"]
        .as_f64()
        .unwrap_or_else(|| panic!("no cost: {job}"))
}

#[tokio::test]
async fn usage_and_cost_add_up_for_a_mixed_batch_of_every_modality() {
    let app = TestApp::spawn().await;
    let key = app.api_key.clone();
    let text = finished(
        &app,
        &key,
        json!({"model": "gpt-4o-mini", "input": {"prompt": "a haiku"}}),
    )
    .await;
    let hd = finished(
        &app,
        &key,
        json!({"model": "dall-e-3", "input": {"prompt": "A lighthouse", "size": "1792x1024", "quality": "hd"}}),
    )
    .await;
    let small = finished(
        &app,
        &key,
        json!({"model": "dall-e-2", "input": {"prompt": "A red kite", "n": 2, "size": "256x256"}}),
    )
    .await;
    let speech = finished(
        &app,
        &key,
        json!({"model": "multilingual-v2", "input": {"text": "Electrons are small."}}),
    )
    .await;
    let video = finished(
        &app,
        &key,
        json!({"model": "veo-3.1", "input": {"prompt": "A glacier", "duration_seconds": 6}}),
    )
    .await;
    let render = finished(
        &app,
        &key,
        json!({"model": "shotstack-render", "input": {"timeline": {"tracks": [{"clips": [
            {"asset": {"type": "title", "text": "Hi"}, "start": 0, "length": 2},
            {"asset": {"type": "title", "text": "Bye"}, "start": 2, "length": 3}]}]}}}),
    )
    .await;
    let stock = finished(
        &app,
        &key,
        json!({"model": "pexels-photos", "input": {"query": "mountains"}}),
    )
    .await;
    // Billed, unusable, not retried: its cost counts though the job failed.
    let unusable = finished(
        &app,
        &key,
        json!({"model": "gpt-4o-mini", "input": {"prompt": "Say hi [[sim:malformed]]"}}),
    )
    .await;
    for job in [&text, &hd, &small, &speech, &video, &render, &stock] {
        assert_eq!(job["status"], "succeeded", "{job}");
    }
    assert_eq!(unusable["status"], "failed", "{unusable}");

    // Each in its unit, at its price.
    let used = &text["metrics"]["usage"];
    let (input, output) = (
        used["input_tokens"].as_f64().expect("input tokens"),
        used["output_tokens"].as_f64().expect("output tokens"),
    );
    assert!(input > 0.0 && output > 0.0, "{used}");
    assert_eq!(text["metrics"]["input_tokens"].as_f64(), Some(input));
    assert!(
        close(cost(&text), input * 0.15e-6 + output * 0.60e-6),
        "{}",
        text["metrics"]
    );
    assert!(close(cost(&hd), 0.12), "{}", hd["metrics"]);
    assert_eq!(hd["metrics"]["calls"][0]["usage"]["image_quality"], "hd");
    assert_eq!(small["metrics"]["usage"]["images"], 2.0);
    assert!(close(cost(&small), 2.0 * 0.016), "{}", small["metrics"]);
    assert_eq!(speech["metrics"]["usage"]["characters"], 20.0);
    assert!(close(cost(&speech), 20.0 * 0.30 / 1000.0), "{}", speech["metrics"]);
    assert_eq!(video["metrics"]["usage"]["video_seconds"], 6.0);
    assert!(close(cost(&video), 6.0 * 0.40), "{}", video["metrics"]);
    assert_eq!(render["metrics"]["usage"]["video_seconds"], 5.0);
    assert!(close(cost(&render), 5.0 * 0.005), "{}", render["metrics"]);
    assert_eq!(stock["metrics"]["usage"]["requests"], 1.0);
    assert_eq!(cost(&stock), 0.0, "Pexels is free");
    assert!(cost(&unusable) > 0.0, "{}", unusable["metrics"]);
    assert_eq!(unusable["metrics"]["usage"]["output_tokens"], 0.0);

    // The report adds the jobs up per model; the totals are the jobs'.
    let jobs = [&text, &hd, &small, &speech, &video, &render, &stock, &unusable];
    let expected_total: f64 = jobs.iter().map(|job| cost(job)).sum();
    let (status, report) = usage(&app, &key, "").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let rows = report["data"].as_array().expect("rows");
    let by_model: HashMap<&str, &Value> = rows
        .iter()
        .map(|row| (row["model"].as_str().expect("model"), row))
        .collect();
    assert_eq!(rows.len(), 7, "one row per model (one day, one project): {report}");
    let mini = by_model["gpt-4o-mini"];
    assert_eq!(
        (
            mini["jobs"].as_i64(),
            mini["succeeded"].as_i64(),
            mini["failed"].as_i64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(mini["billed_calls"], 2);
    assert!(close(
        mini["cost_usd"].as_f64().expect("cost"),
        cost(&text) + cost(&unusable)
    ));
    assert_eq!(by_model["veo-3.1"]["usage"]["video_seconds"], 6.0);
    assert_eq!(by_model["dall-e-2"]["modality"], "image");
    assert_eq!(report["total"]["jobs"], 8);
    assert!(
        close(report["total"]["cost_usd"].as_f64().expect("total"), expected_total),
        "{report}"
    );

    // The same as CSV, by parameter or by Accept.
    for request in [
        app.http.get(format!("{}/v1/usage?format=csv", app.base_url)),
        app.http
            .get(format!("{}/v1/usage", app.base_url))
            .header("accept", "text/csv"),
    ] {
        let response = request.bearer_auth(&key).send().await.expect("csv");
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/csv"));
        let body = response.text().await.expect("csv body");
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let header = reader.headers().expect("header").clone();
        let column = |name: &str| header.iter().position(|h| h == name).expect(name);
        let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
        assert_eq!(records.len(), 7, "{body}");
        let total: f64 = records
            .iter()
            .map(|r| r[column("cost_usd")].parse::<f64>().expect("number"))
            .sum();
        assert!(close(total, expected_total), "{body}");
        let dall_e_2 = records.iter().find(|r| &r[column("model")] == "dall-e-2").expect("row");
        assert_eq!(&dall_e_2[column("images")], "2");
    }

    // A period with no jobs is empty; a bad period names its field.
    let (status, empty) = usage(&app, &key, "?from=2020-01-01&to=2020-01-31").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty["data"], json!([]));
    let (status, error) = usage(&app, &key, "?from=yesterday").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "from", "{error}");
    let (status, error) = usage(&app, &key, "?format=xml").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
}

#[tokio::test]
async fn a_project_reads_only_its_own_usage() {
    let app = TestApp::spawn().await;
    let ours = app.api_key.clone();
    let theirs = app.project_key("usage-other").await;
    let job = finished(
        &app,
        &ours,
        json!({"model": "gpt-4o-mini", "input": {"prompt": "a haiku"}}),
    )
    .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let our_project = app.project_of(&ours).await;

    let (status, report) = usage(&app, &theirs, "").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["data"], json!([]), "another project's jobs are not counted");
    let (status, error) = usage(&app, &theirs, &format!("?project_id={our_project}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");

    // The operator reads any project's.
    let (status, report) = app
        .admin(Method::GET, &format!("/v1/usage?project_id={our_project}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["total"]["jobs"], 1, "{report}");
    assert_eq!(report["data"][0]["project_id"], our_project.to_string());
}
