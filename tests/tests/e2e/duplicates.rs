use std::time::Duration;

use electrons_domain::{
    ids::JobId,
    job::{Modality, Priority},
    queue::{JobMessage, Publisher, Topology},
};
use electrons_tests::{Options, TestApp};
use serde_json::json;

/// RabbitMQ may deliver a message twice; the claim makes the second a no-op.
#[tokio::test]
async fn the_same_message_twice_runs_the_job_once() {
    let mut app = TestApp::with(Options {
        worker: false,
        ..Default::default()
    })
    .await;
    let (_, job) = app
        .submit(&json!({ "model": "gpt-4o-mini", "input": { "prompt": "only once" } }))
        .await;
    let id: JobId = job["id"].as_str().expect("id").parse().expect("job id");

    let publisher = Publisher::start(
        &app.settings.broker.url,
        Topology::new(&app.settings.broker),
        "test",
        app.shutdown.child_token(),
    );
    assert!(publisher.wait_connected(Duration::from_secs(10)).await);
    let copy = JobMessage {
        job_id: id,
        attempt: 0,
        trace_id: None,
        traceparent: None,
        poll: false,
        poll_seq: 0,
    };
    publisher
        .publish(&copy, Modality::Text, Priority::Normal)
        .await
        .expect("publish copy");
    publisher
        .publish(&copy, Modality::Text, Priority::Normal)
        .await
        .expect("publish copy");

    app.start_worker();
    let done = app
        .wait_for(&id.to_string(), "succeeded", Duration::from_secs(20))
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(done["attempts"], 1);
    assert_eq!(
        app.sim.controls().request_count(),
        1,
        "one provider call for three messages"
    );
    assert_eq!(app.job(&id.to_string()).await["completed_at"], done["completed_at"]);
    app.stop().await;
}
