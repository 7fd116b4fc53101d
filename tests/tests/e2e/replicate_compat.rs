//! The Replicate-compatible API (`/replicate/v1`) with Replicate's official
//! Python client (`tests/python/replicate_test.py`, run with
//! `DE_TEST_PYTHON`), only its base URL changed: `run` for text and image
//! models, a blocking run whose wait runs out, a prediction followed to the
//! end, a cancel, the list across pages and the default webhook secret. This
//! side made the jobs the list pages through, and checks what the client did.

use electrons_tests::TestApp;
use reqwest::StatusCode;
use serde_json::json;

/// Jobs made before the client runs, so its list spans two pages of 100.
const LISTED: usize = 100;

#[tokio::test(flavor = "multi_thread")]
async fn replicates_client_runs_predictions_as_de_jobs() {
    let app = TestApp::spawn().await;
    for i in 0..LISTED {
        let (status, job) = app
            .submit(&json!({"model": "gpt-4o-mini", "input": {"prompt": format!("listed {i}")}}))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    }
    let listed = LISTED.to_string();
    let made = electrons_tests::run_client_script(
        "the replicate client",
        "replicate_test.py",
        &["--url", &app.base_url, "--key", &app.api_key, "--listed", &listed],
    )
    .await;
    // The cancel stopped the job, and the prediction waited for is a job of the key's project.
    let canceled = app.job(made["canceled"].as_str().expect("id")).await;
    assert_eq!(canceled["status"], "canceled", "{canceled}");
    let waited = app.job(made["waited"].as_str().expect("id")).await;
    assert_eq!(waited["model"], "claude-3.5-haiku", "{waited}");
    assert_eq!(waited["status"], "succeeded", "{waited}");
    // The prediction with a webhook: its deliveries, both delivered.
    let hooked = made["hooked"].as_str().expect("id");
    let (_, deliveries) = app.get(&format!("/v1/jobs/{hooked}/deliveries")).await;
    let events: Vec<(&str, &str)> = deliveries["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                d["event"].as_str().unwrap_or_default(),
                d["status"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert!(events.contains(&("start", "delivered")), "{deliveries}");
    assert!(events.contains(&("completed", "delivered")), "{deliveries}");
    // The refused ones made no job: the listed ones and the client's seven.
    assert_eq!(app.job_rows().await, LISTED as i64 + 7);
    app.stop().await;
}
