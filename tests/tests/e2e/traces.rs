//! One trace per job across processes: a producer process and a worker
//! process, both exporting over OTLP to a test collector, put the producer's
//! `submit` span, the worker's `job` span and its `provider_call` span into one
//! trace; the `traceparent` travels in the RabbitMQ message's headers. The job
//! row keeps it, so a retry the scheduler relays and the webhook delivery join
//! the same trace.

use std::time::{Duration, Instant};

use electrons_simulator::Fault;
use electrons_tests::{Options, Receiver, TestApp, WorkerProcess};
use fake_opentelemetry_collector::{ExportedSpan, FakeCollectorServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::ELECTRONS;

/// Collects exported spans (they arrive in batches from every process) until
/// `enough` holds or 30 s pass.
async fn collect(collector: &mut FakeCollectorServer, enough: impl Fn(&[ExportedSpan]) -> bool) -> Vec<ExportedSpan> {
    let mut spans: Vec<ExportedSpan> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !enough(&spans) && Instant::now() < deadline {
        spans.extend(collector.exported_spans(1, Duration::from_secs(1)).await);
    }
    spans
}

const WORKER: &[&str] = &["worker", "--modalities", "text", "--concurrency", "4"];

/// Starts each role (its arguments) as a process exporting its spans to
/// `collector`, and waits for the consuming ones to consume.
async fn start_traced(app: &TestApp, collector: &FakeCollectorServer, roles: &[&[&str]]) -> Vec<WorkerProcess> {
    let endpoint = collector.endpoint();
    let otel = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];
    let mut processes = Vec::new();
    for args in roles {
        let process = WorkerProcess::start_role_with(ELECTRONS, &app.settings, args, &otel).expect("a traced process");
        if args[0] != "producer" {
            process
                .wait_for_log("consuming", Duration::from_secs(30))
                .await
                .unwrap_or_else(|| panic!("{} consumes", args[0]));
        }
        processes.push(process);
    }
    processes
}

fn of_job<'a>(spans: &'a [ExportedSpan], name: &str, job: &str) -> Vec<&'a ExportedSpan> {
    spans
        .iter()
        .filter(|s| s.name == name && s.attributes.get("job_id").is_some_and(|v| v.contains(job)))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_submit_and_its_provider_call_are_one_trace_across_processes() {
    let app = TestApp::with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    let mut collector = FakeCollectorServer::start().await.expect("collector");
    let processes = start_traced(&app, &collector, &[&["producer"], WORKER]).await;
    let url = processes[0].http_url().await;

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

    let named = |spans: &[ExportedSpan], name: &str| spans.iter().any(|s| s.name == name);
    let spans = collect(&mut collector, |spans| {
        ["submit", "job", "provider_call"].iter().all(|name| named(spans, name))
    })
    .await;
    let the = |name: &str| {
        of_job(&spans, name, &id)
            .first()
            .copied()
            .unwrap_or_else(|| panic!("no {name} span of the job among {spans:#?}"))
    };
    let submit = the("submit");
    let job = the("job");
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

#[tokio::test(flavor = "multi_thread")]
async fn a_relayed_retry_and_the_webhook_join_the_submits_trace() {
    // The in-process scheduler relays the retry: it has no exporter of its
    // own, so only the row's traceparent can put the second run in the trace.
    let app = TestApp::with(Options {
        worker: false,
        webhooks: false,
        ..Options::default()
    })
    .await;
    let receiver = Receiver::start().await;
    app.sim.controls().push_script([Fault::Status { status: 500 }]);
    let mut collector = FakeCollectorServer::start().await.expect("collector");
    let processes = start_traced(&app, &collector, &[&["producer"], WORKER, &["webhooks"]]).await;
    let url = processes[0].http_url().await;

    let submitted: Value = app
        .http
        .post(format!("{url}/v1/jobs"))
        .bearer_auth(&app.api_key)
        .json(&json!({
            "model": "gpt-4o-mini",
            "input": {"prompt": "trace my retry"},
            "webhook": receiver.url("/hooks/traced"),
            "webhook_events_filter": ["completed"],
        }))
        .send()
        .await
        .expect("submit")
        .json()
        .await
        .expect("job");
    let id = submitted["id"].as_str().expect("id").to_owned();
    let done = app.wait_for(&id, "succeeded", Duration::from_secs(30)).await;
    assert_eq!(done["attempts"], 2, "the first call failed: {done}");
    receiver.wait_for(1, Duration::from_secs(30)).await;

    let spans = collect(&mut collector, |spans| {
        of_job(spans, "job", &id).len() >= 2 && spans.iter().any(|s| s.name == "webhook_attempt")
    })
    .await;
    let submit = *of_job(&spans, "submit", &id).first().expect("the submit span");
    let runs = of_job(&spans, "job", &id);
    assert_eq!(runs.len(), 2, "two runs among {spans:#?}");
    for run in runs {
        assert_eq!(run.trace_id, submit.trace_id, "every run continues the request's trace");
        assert_eq!(run.parent_span_id, submit.span_id);
    }
    let delivery = spans
        .iter()
        .find(|s| s.name == "webhook_attempt")
        .expect("the delivery's span");
    assert_eq!(
        delivery.trace_id, submit.trace_id,
        "the webhook delivery joins the request's trace"
    );
    app.stop().await;
}
