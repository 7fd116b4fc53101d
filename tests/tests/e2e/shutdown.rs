//! A normal stop (SIGTERM) of any role, as a real process: it finishes its work,
//! closes its broker channels and connections in order, exits 0 and logs no
//! ERROR. Without the order lapin logs `ERROR Connection error … invalid
//! channel state: Closing` on every clean stop.

use std::time::Duration;

use electrons_simulator::Fault;
use electrons_tests::{Options, Receiver, TestApp, WorkerProcess};
use reqwest::StatusCode;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);
/// Where no broker listens: the test's own producer cannot publish, so what it
/// accepts is left for the scheduler process to relay.
const NO_BROKER: &str = "amqp://guest:guest@127.0.0.1:1/%2f";

/// SIGTERM, then: exit status 0, no ERROR line, and each of `stopped` logged.
async fn stop_cleanly(process: &mut WorkerProcess, stopped: &[&str]) {
    let exit = process.terminate().await.expect("exit status");
    let log = process.log();
    assert!(exit.success(), "{exit:?}; log:\n{log}");
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert!(
        errors.is_empty(),
        "a clean stop logged errors: {errors:#?}\nlog:\n{log}"
    );
    for line in stopped {
        assert!(log.contains(line), "no {line:?} in the log:\n{log}");
    }
}

async fn submit_to(app: &TestApp, base_url: &str, body: &Value, prefer: Option<&str>) -> (StatusCode, Value) {
    let mut request = app
        .http
        .post(format!("{base_url}/v1/jobs"))
        .bearer_auth(&app.api_key)
        .json(body);
    if let Some(prefer) = prefer {
        request = request.header("prefer", prefer);
    }
    let response = request.send().await.expect("submit");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_role_stopped_by_sigterm_exits_cleanly_and_logs_no_error() {
    let app = TestApp::with(Options {
        worker: false,
        scheduler: false,
        webhooks: false,
        publisher_amqp_url: Some(NO_BROKER.into()),
        ..Default::default()
    })
    .await;
    let program = crate::ELECTRONS;
    let mut worker = WorkerProcess::start(program, &app.settings, 16).expect("worker");
    let mut deliverer = WorkerProcess::start_webhooks(program, &app.settings).expect("deliverer");
    let mut scheduler = WorkerProcess::start_role(program, &app.settings, &["scheduler"]).expect("scheduler");
    let mut producer = WorkerProcess::start_role(program, &app.settings, &["producer"]).expect("producer");
    let producer_url = producer.http_url().await;
    let receiver = Receiver::start().await;

    // Accepted where no broker is reachable: the scheduler process publishes it.
    let (status, relayed) = app
        .submit(&json!({ "model": "gpt-4o-mini", "input": { "prompt": "relay me" } }))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{relayed}");
    app.wait_for(relayed["id"].as_str().expect("id"), "succeeded", WAIT)
        .await;

    // Through the producer process, with a webhook, and still running when
    // the worker is told to stop: it finishes, and its event still goes out.
    app.sim.controls().push_script([Fault::Latency { ms: 1500 }]);
    let calls = app.sim.controls().request_count();
    let (status, job) = submit_to(
        &app,
        &producer_url,
        &json!({
            "model": "gpt-4o-mini",
            "input": { "prompt": "finish me" },
            "webhook": receiver.url("/hook"),
        }),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().expect("id").to_string();
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.sim.controls().request_count() == calls {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker never called the provider"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_cleanly(&mut worker, &["worker stopped"]).await;
    assert!(
        !worker.log().contains("not confirmed"),
        "the worker closed its publisher before its last job's publishes: {}",
        worker.log()
    );
    let done = app.job(&id).await;
    assert_eq!(done["status"], "succeeded", "finished before exiting: {done}");
    let delivered = receiver.wait_for(1, WAIT).await;
    assert_eq!(delivered[0].json["id"], id.as_str());

    stop_cleanly(&mut producer, &["producer stopped"]).await;
    stop_cleanly(&mut scheduler, &["scheduler stopped"]).await;
    stop_cleanly(&mut deliverer, &["webhook deliverer stopped"]).await;
    app.stop().await;
}

/// `electrons dev`: every role in one process, stopped together.
#[tokio::test]
async fn dev_stopped_by_sigterm_exits_cleanly_and_logs_no_error() {
    let app = TestApp::with(Options {
        worker: false,
        scheduler: false,
        webhooks: false,
        ..Default::default()
    })
    .await;
    let mut dev = WorkerProcess::start_role(crate::ELECTRONS, &app.settings, &["dev"]).expect("dev");
    let url = dev.http_url().await;
    let receiver = Receiver::start().await;
    let (status, job) = submit_to(
        &app,
        &url,
        &json!({
            "model": "gpt-4o-mini",
            "input": { "prompt": "in one process" },
            "webhook": receiver.url("/hook"),
        }),
        Some("wait=20"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(job["status"], "succeeded", "{job}");
    receiver.wait_for(1, WAIT).await;
    stop_cleanly(
        &mut dev,
        &[
            "producer stopped",
            "worker stopped",
            "webhook deliverer stopped",
            "scheduler stopped",
        ],
    )
    .await;
    app.stop().await;
}
