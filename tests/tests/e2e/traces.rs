//! One trace per job across processes: a producer process and a worker
//! process, both exporting over OTLP to a test collector, put the producer's
//! `submit` span, the worker's `job` span and its `provider_call` span into one
//! trace; the `traceparent` travels in the RabbitMQ message's headers.

use std::time::Duration;

use electrons_tests::{Options, TestApp, WorkerProcess};
use fake_opentelemetry_collector::{ExportedSpan, FakeCollectorServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::ELECTRONS;

#[tokio::test(flavor = "multi_thread")]
async fn a_submit_and_its_provider_call_are_one_trace_across_processes() {
    let app = TestApp::with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    let mut collector = FakeCollectorServer::start().await.expect("collector");
    let endpoint = collector.endpoint();
    let otel = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];
    let producer = WorkerProcess::start_role_with(ELECTRONS, &app.settings, &["producer"], &otel).expect("producer");
    let worker = WorkerProcess::start_role_with(
        ELECTRONS,
        &app.settings,
        &["worker", "--modalities", "text", "--concurrency", "4"],
        &otel,
    )
    .expect("worker");
    let url = producer.http_url().await;
    worker
        .wait_for_log("consuming", Duration::from_secs(30))
        .await
        .expect("the worker consumes");

    let submitted: Value = app
        .http
        .post(format!("{url}/v1/jobs"))
        .bearer_auth(&app.api_key)
        .json(&json!({"model": "gpt-4o-mini", "input": {"prompt": "trace me"}}))
        .send()
        .await
        .expect("submit")
        .json()
        .await
        .expect("job");
    let id = submitted["id"].as_str().expect("id").to_owned();
    app.wait_for(&id, "succeeded", Duration::from_secs(30)).await;

    // Spans arrive in batches from both processes; wait for the three.
    let mut spans: Vec<ExportedSpan> = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let named = |spans: &[ExportedSpan], name: &str| spans.iter().any(|s| s.name == name);
    let all_in = |spans: &[ExportedSpan]| ["submit", "job", "provider_call"].iter().all(|name| named(spans, name));
    while !all_in(&spans) && std::time::Instant::now() < deadline {
        spans.extend(collector.exported_spans(1, Duration::from_secs(1)).await);
    }
    let of_job = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name && s.attributes.get("job_id").is_some_and(|v| v.contains(&id)))
            .unwrap_or_else(|| panic!("no {name} span of the job among {spans:#?}"))
    };
    let submit = of_job("submit");
    let job = of_job("job");
    let call = spans
        .iter()
        .find(|s| s.name == "provider_call" && s.trace_id == submit.trace_id)
        .unwrap_or_else(|| panic!("no provider_call in the submit's trace among {spans:#?}"));
    assert_eq!(
        job.trace_id, submit.trace_id,
        "the worker continues the request's trace"
    );
    assert_eq!(
        job.parent_span_id, submit.span_id,
        "the job span's parent is the submit, across the queue"
    );
    assert_eq!(call.parent_span_id, job.span_id);
    // The collector shows attribute values as the OTLP AnyValue they arrived as.
    let provider = call.attributes.get("provider").map(String::as_str).unwrap_or_default();
    assert!(provider.contains("\"openai\""), "{provider}");
    let status = app
        .http
        .get(format!("{url}/healthz"))
        .send()
        .await
        .expect("healthz")
        .status();
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}
