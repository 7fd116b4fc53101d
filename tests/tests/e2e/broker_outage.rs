use std::time::Duration;

use electrons_tests::{Options, TcpProxy, TestApp};
use reqwest::StatusCode;
use serde_json::json;

/// The producer and scheduler reach RabbitMQ through a proxy the test cuts: a job
/// submitted meanwhile is accepted, and runs once the broker is back.
#[tokio::test]
async fn jobs_accepted_while_the_broker_is_unreachable_run_when_it_returns() {
    let proxy = TcpProxy::start("127.0.0.1:5672".parse().expect("addr"))
        .await
        .expect("proxy");
    let url = format!("amqp://guest:guest@{}/%2f", proxy.addr());
    let app = TestApp::with(Options {
        publisher_amqp_url: Some(url),
        ..Default::default()
    })
    .await;

    // Make sure the publisher was up before the cut, so this tests losing it.
    let (_, warm) = app
        .submit(&json!({ "model": "gpt-4o-mini", "input": { "prompt": "before" } }))
        .await;
    app.wait_for(warm["id"].as_str().expect("id"), "succeeded", Duration::from_secs(20))
        .await;

    proxy.cut();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, job) = app
        .submit(&json!({ "model": "gpt-4o-mini", "input": { "prompt": "during outage" } }))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().expect("id").to_string();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        app.job(&id).await["status"],
        "queued",
        "nothing can run it while the broker is away"
    );

    proxy.restore();
    let done = app.wait_for(&id, "succeeded", Duration::from_secs(30)).await;
    assert_eq!(done["attempts"], 1);
    assert_eq!(app.sim.controls().request_count(), 2);
    app.stop().await;
}
