//! Every output is paid for once (invariant 8): a provider's billed answer is
//! committed before its outputs are copied; a copy that fails is retried from
//! that record, a worker killed mid-copy is replaced by one that resumes the
//! copy, and a billed answer DE cannot use is not paid for again. Every call is
//! in the job's metrics.

use std::time::Duration;

use electrons_tests::{Options, TestApp, WorkerProcess};
use serde_json::{json, Value};

const FINISH: Duration = Duration::from_secs(40);

/// How many generation calls reached the simulator's `endpoint`.
fn calls_to(app: &TestApp, endpoint: &str) -> usize {
    app.sim
        .controls()
        .requests()
        .iter()
        .filter(|r| r.endpoint == endpoint)
        .count()
}

async fn finished(app: &TestApp, body: Value) -> Value {
    let (status, job) = app.submit(&body).await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{job}");
    app.wait_finished(job["id"].as_str().expect("id"), FINISH).await
}

#[tokio::test]
async fn a_copy_that_fails_is_retried_without_generating_again() {
    let app = TestApp::spawn().await;
    let done = finished(
        &app,
        json!({ "model": "dall-e-3", "input": { "prompt": "A lighthouse [[sim:file_500=3]]" } }),
    )
    .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(calls_to(&app, "openai.images"), 1, "one generation for the job");
    assert_eq!(
        app.sim.controls().file_requests(),
        4,
        "three failed copies, then one that worked"
    );
    let metrics = &done["metrics"];
    assert_eq!(metrics["copy_attempts"], 4, "{metrics}");
    assert_eq!(metrics["provider_calls"], 1, "{metrics}");
    assert_eq!(metrics["billed_calls"], 1, "{metrics}");
    assert_eq!(metrics["calls"][0]["outcome"], "answered", "{metrics}");
    assert_eq!(metrics["calls"][0]["usage"]["images"], 1, "{metrics}");
    assert_eq!(metrics["cost_usd"], 0.04, "one image paid for once: {metrics}");
    assert_eq!(done["attempts"], 1, "{done}");
    assert!(
        done["output"]["revised_prompts"].is_array(),
        "the answer's details survive: {done}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_copy_that_never_works_fails_after_its_tries_with_one_generation() {
    let mut app = TestApp::with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    app.settings.storage.copy_attempts = 3;
    app.start_worker();
    let done = finished(
        &app,
        json!({ "model": "dall-e-2", "input": { "prompt": "Two foxes [[sim:file_500]]", "n": 2 } }),
    )
    .await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["code"], "output_download_failed", "{done}");
    assert_eq!(done["error"]["retryable"], false, "{done}");
    assert!(
        done["error"]["message"]
            .as_str()
            .expect("message")
            .contains("tried 3 times"),
        "{done}"
    );
    assert_eq!(calls_to(&app, "openai.images"), 1, "never generated again");
    assert_eq!(
        app.sim.controls().file_requests(),
        3,
        "each try stopped at the first file"
    );
    assert_eq!(done["metrics"]["copy_attempts"], 3, "{done}");
    assert_eq!(done["metrics"]["billed_calls"], 1, "{done}");
    app.stop().await;
}

#[tokio::test]
async fn a_worker_killed_while_copying_is_replaced_by_one_that_resumes_the_copy() {
    let mut app = TestApp::with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    // The copy's lease (download timeout + margin) runs out soon after the kill.
    app.settings.storage.download_timeout = Duration::from_secs(2);
    app.settings.worker.lease_margin = Duration::from_secs(1);
    let mut worker = WorkerProcess::start_for(crate::ELECTRONS, &app.settings, "image", 4).expect("worker");
    let (_, job) = app
        .submit(&json!({ "model": "ideogram-v2", "input": { "prompt": "A cat [[sim:file_hang=1]]" } }))
        .await;
    let id = job["id"].as_str().expect("id");
    let deadline = tokio::time::Instant::now() + FINISH;
    // The first request for the image never answers: the worker is copying.
    while app.sim.controls().file_requests() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never started copying");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    worker.kill().await;
    let mut replacement = WorkerProcess::start_for(crate::ELECTRONS, &app.settings, "image", 4).expect("worker");
    let done = app.wait_finished(id, FINISH).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        calls_to(&app, "ideogram.generate"),
        1,
        "the copy resumed; no second generation"
    );
    assert_eq!(done["attempts"], 1, "{done}");
    assert_eq!(done["metrics"]["provider_calls"], 1, "{done}");
    assert_eq!(
        app.sim.controls().file_requests(),
        2,
        "the hung copy, then the resumed one"
    );
    assert_eq!(done["output"]["files"].as_array().map(Vec::len), Some(1), "{done}");
    replacement.kill().await;
    app.stop().await;
}

#[tokio::test]
async fn a_billed_answer_that_cannot_be_used_is_not_paid_for_again() {
    let app = TestApp::spawn().await;
    let done = finished(
        &app,
        json!({ "model": "gpt-4o-mini", "input": { "prompt": "Say hi [[sim:malformed]]" } }),
    )
    .await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(
        calls_to(&app, "openai.chat"),
        1,
        "not retried: the provider charged for it"
    );
    let error = &done["error"];
    assert_eq!(error["code"], "provider_unusable_answer", "{error}");
    assert_eq!(error["retryable"], false, "{error}");
    let request_id = error["provider_request_id"]
        .as_str()
        .expect("the provider's request id");
    assert!(request_id.starts_with("req_"), "{error}");
    assert!(
        error["provider_body"].as_str().is_some_and(|b| !b.is_empty()),
        "the start of the body: {error}"
    );
    assert!(!error.to_string().contains("sim-key"), "the key never shows: {error}");
    let metrics = &done["metrics"];
    assert_eq!(metrics["provider_calls"], 1, "{metrics}");
    assert_eq!(metrics["billed_calls"], 1, "{metrics}");
    assert_eq!(metrics["calls"][0]["outcome"], "unusable", "{metrics}");
    assert_eq!(metrics["calls"][0]["request_id"], request_id, "{metrics}");
    app.stop().await;
}

#[tokio::test]
async fn a_model_may_ask_for_unusable_answers_to_be_retried() {
    let app = TestApp::spawn().await;
    app.change_model("gpt-4o-mini", "retry_unusable_answers = true").await;
    // The first answer is cut short, the second is whole.
    app.sim.controls().push_script([electrons_simulator::Fault::Malformed]);
    let done = finished(&app, json!({ "model": "gpt-4o-mini", "input": { "prompt": "Say hi" } })).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(calls_to(&app, "openai.chat"), 2);
    let metrics = &done["metrics"];
    assert_eq!(metrics["provider_calls"], 2, "both calls are counted: {metrics}");
    assert_eq!(metrics["billed_calls"], 2, "{metrics}");
    let outcomes: Vec<&Value> = metrics["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| &c["outcome"])
        .collect();
    assert_eq!(outcomes, [&json!("unusable"), &json!("answered")], "{metrics}");
    app.stop().await;
}

#[tokio::test]
async fn failed_calls_are_counted_but_not_billed() {
    let app = TestApp::spawn().await;
    app.sim
        .controls()
        .push_script([electrons_simulator::Fault::Status { status: 500 }]);
    let done = finished(&app, json!({ "model": "gpt-4o-mini", "input": { "prompt": "Say hi" } })).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let metrics = &done["metrics"];
    assert_eq!(metrics["provider_calls"], 2, "{metrics}");
    assert_eq!(metrics["billed_calls"], 1, "the 500 was not charged: {metrics}");
    assert_eq!(metrics["calls"][0]["outcome"], "server_error", "{metrics}");
    assert_eq!(metrics["calls"][0]["status"], 500, "{metrics}");
    assert_eq!(metrics["calls"][1]["attempt"], 2, "{metrics}");
    assert!(
        metrics["calls"][1]["usage"]["output_tokens"].as_u64().is_some(),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_output_the_provider_lost_is_generated_again_only_when_asked() {
    let app = TestApp::spawn().await;
    // Without being asked: one generation, and the job says the output is gone.
    let gone = finished(
        &app,
        json!({ "model": "ideogram-v2", "input": { "prompt": "A cat [[sim:file_404]]" } }),
    )
    .await;
    assert_eq!(gone["error"]["code"], "output_unavailable", "{gone}");
    assert_eq!(calls_to(&app, "ideogram.generate"), 1);

    app.change_model("ideogram-v2", "regenerate_unavailable_outputs = true")
        .await;
    let regenerated = finished(
        &app,
        json!({ "model": "ideogram-v2", "input": { "prompt": "A dog [[sim:file_404]]" } }),
    )
    .await;
    // Every generation links to a missing file here: each attempt generates once.
    let attempts = app.settings.jobs.max_attempts as u64;
    assert_eq!(regenerated["status"], "failed", "{regenerated}");
    assert_eq!(regenerated["error"]["code"], "output_unavailable", "{regenerated}");
    assert_eq!(regenerated["attempts"], attempts, "{regenerated}");
    assert_eq!(calls_to(&app, "ideogram.generate") as u64, 1 + attempts);
    let metrics = &regenerated["metrics"];
    assert_eq!(metrics["regenerations"], attempts - 1, "{metrics}");
    assert_eq!(
        metrics["billed_calls"], attempts,
        "every generation is counted: {metrics}"
    );

    // The same asked for by the job's input, on a model that does not say so.
    let asked = finished(
        &app,
        json!({ "model": "dall-e-3", "input": { "prompt": "A fox [[sim:file_404]]", "regenerate_if_unavailable": true } }),
    )
    .await;
    assert_eq!(asked["error"]["code"], "output_unavailable", "{asked}");
    assert_eq!(asked["attempts"], attempts, "{asked}");
    assert_eq!(asked["metrics"]["regenerations"], attempts - 1, "{asked}");
    assert_eq!(calls_to(&app, "openai.images") as u64, attempts);
    app.stop().await;
}

#[tokio::test]
async fn a_job_the_provider_took_is_not_refused_by_rules_added_since() {
    let app = TestApp::spawn().await;
    app.sim.controls().set_operation_duration(Duration::from_millis(1500));
    let (_, job) = app
        .submit(&json!({ "model": "veo-3.1", "input": { "prompt": "Waves at night" } }))
        .await;
    let id = job["id"].as_str().expect("id");
    let deadline = tokio::time::Instant::now() + FINISH;
    while !app.job(id).await["operation"]["id"].is_string() {
        assert!(tokio::time::Instant::now() < deadline, "never submitted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // As if the job had been accepted before `seed` was refused for Veo.
    sqlx::query("UPDATE jobs SET input = input || '{\"seed\": 7}' WHERE id = $1")
        .bind(id.parse::<electrons_domain::ids::JobId>().expect("job id").0)
        .execute(&app.pool)
        .await
        .expect("old input");
    let done = app.wait_finished(id, FINISH).await;
    assert_eq!(
        done["status"], "succeeded",
        "the submitted video is still fetched: {done}"
    );
    assert_eq!(calls_to(&app, "gemini.predict_long_running"), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_copy_that_keeps_killing_its_worker_runs_out_of_tries() {
    let mut app = TestApp::with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    app.settings.storage.copy_attempts = 2;
    app.settings.storage.download_timeout = Duration::from_secs(2);
    app.settings.worker.lease_margin = Duration::from_secs(1);
    let (_, job) = app
        .submit(&json!({ "model": "ideogram-v2", "input": { "prompt": "A cat [[sim:file_hang=9]]" } }))
        .await;
    let id = job["id"].as_str().expect("id");
    let deadline = tokio::time::Instant::now() + FINISH;
    // Each try hangs on the image; each worker is killed while it waits.
    for tries in 1..=2 {
        let mut worker = WorkerProcess::start_for(crate::ELECTRONS, &app.settings, "image", 4).expect("worker");
        while app.sim.controls().file_requests() < tries {
            assert!(tokio::time::Instant::now() < deadline, "try {tries} never started");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        worker.kill().await;
    }
    let mut last = WorkerProcess::start_for(crate::ELECTRONS, &app.settings, "image", 4).expect("worker");
    let done = app.wait_finished(id, FINISH).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["code"], "output_download_failed", "{done}");
    assert!(
        done["error"]["message"]
            .as_str()
            .expect("message")
            .contains("stopped without finishing"),
        "{done}"
    );
    assert_eq!(app.sim.controls().file_requests(), 2, "no third try");
    assert_eq!(calls_to(&app, "ideogram.generate"), 1, "and never a second generation");
    last.kill().await;
    app.stop().await;
}

#[tokio::test]
async fn a_call_whose_job_was_canceled_meanwhile_still_counts() {
    let app = TestApp::spawn().await;
    let (_, job) = app
        .submit(&json!({ "model": "gpt-4o-mini", "input": { "prompt": "Slow [[sim:latency=1500]]" } }))
        .await;
    let id = job["id"].as_str().expect("id");
    app.wait_for(id, "running", FINISH).await;
    let (status, canceled) = app.post(&format!("/v1/jobs/{id}/cancel")).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{canceled}");
    let deadline = tokio::time::Instant::now() + FINISH;
    loop {
        let job = app.job(id).await;
        if job["metrics"]["provider_calls"] == 1 {
            assert_eq!(job["status"], "canceled", "{job}");
            assert_eq!(job["metrics"]["billed_calls"], 1, "{job}");
            assert_eq!(
                job["output"],
                Value::Null,
                "the answer is not applied to a canceled job: {job}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the call was never counted: {job}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
}

/// The statements of a run that was rescued and replaced: fenced out, all of them.
#[tokio::test]
async fn a_replaced_copier_changes_nothing() {
    use electrons_domain::{db, ids::JobId, job::JobError};
    let app = TestApp::with(Options {
        worker: false,
        scheduler: false,
        ..Options::default()
    })
    .await;
    let (_, job) = app
        .submit(&json!({ "model": "ideogram-v2", "input": { "prompt": "A cat" } }))
        .await;
    let id: JobId = job["id"].as_str().expect("id").parse().expect("job id");
    // Running, copying a committed answer, held by the copier that took poll 3.
    sqlx::query(
        "UPDATE jobs SET status = 'running', attempt = 1, poll_seq = 3, lease_until = now() + interval '1 minute',
                answer = '{\"files\": [], \"received_at\": \"2026-01-01T00:00:00Z\"}' WHERE id = $1",
    )
    .bind(id.0)
    .execute(&app.pool)
    .await
    .expect("copying");
    let old = db::jobs::Fence {
        id,
        attempt: 1,
        poll_seq: 3,
    };
    // Rescued: the scheduler published poll 4 and another copier took it.
    sqlx::query("UPDATE jobs SET poll_seq = 4 WHERE id = $1")
        .bind(id.0)
        .execute(&app.pool)
        .await
        .expect("replaced");
    let lease = Duration::from_secs(60);
    assert!(!db::jobs::extend_lease(&app.pool, old, lease).await.expect("renew"));
    assert!(!db::answers::copy_later(&app.pool, old, "x", lease)
        .await
        .expect("later"));
    let error = JobError::final_error("output_download_failed", "x");
    assert!(!db::jobs::fail(&app.pool, old, &error, &json!({}), None)
        .await
        .expect("fail"));
    let current = db::jobs::Fence { poll_seq: 4, ..old };
    assert!(db::jobs::extend_lease(&app.pool, current, lease).await.expect("renew"));
    assert!(db::answers::copy_later(&app.pool, current, "x", lease)
        .await
        .expect("later"));
    app.stop().await;
}

#[tokio::test]
async fn metrics_keep_the_latest_fifty_calls_and_count_them_all() {
    let app = TestApp::with(Options {
        worker: false,
        scheduler: false,
        ..Options::default()
    })
    .await;
    let metrics: Value = sqlx::query_scalar(
        "WITH RECURSIVE r(i, m) AS (
             SELECT 0, '{}'::jsonb
             UNION ALL
             SELECT i + 1, job_metrics_with_call(m, jsonb_build_object('n', i, 'billed', i % 2 = 0)) FROM r WHERE i < 60)
         SELECT m FROM r WHERE i = 60",
    )
    .fetch_one(&app.pool)
    .await
    .expect("metrics");
    assert_eq!(metrics["provider_calls"], 60, "{metrics}");
    assert_eq!(metrics["billed_calls"], 30, "{metrics}");
    let calls = metrics["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 50);
    assert_eq!((calls[0]["n"].clone(), calls[49]["n"].clone()), (json!(10), json!(59)));
    app.stop().await;
}
