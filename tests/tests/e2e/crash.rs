use std::time::Duration;

use electrons_simulator::Fault;
use electrons_tests::{Options, TestApp};
use serde_json::json;

/// SIGKILL a real worker process while the provider call is in flight: the lease
/// expires, the scheduler rescues the job, another worker finishes it, once.
#[tokio::test]
async fn a_worker_killed_mid_call_loses_nothing() {
    let mut app = TestApp::with(Options {
        worker: false,
        ..Default::default()
    })
    .await;
    app.sim.controls().push_script([Fault::Hang]);
    let mut doomed = app.worker_process(crate::ELECTRONS);
    let (_, job) = app
        .submit(&json!({ "model": "gpt-4o-mini", "input": { "prompt": "survive" } }))
        .await;
    let id = job["id"].as_str().expect("id").to_string();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while app.sim.controls().request_count() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker process never called the provider"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.job(&id).await["status"], "running");
    doomed.kill().await;

    app.start_worker();
    // Lease = provider timeout (5 s) + margin (2 s); then the rescue and the rerun.
    let done = app.wait_for(&id, "succeeded", Duration::from_secs(30)).await;
    assert_eq!(done["attempts"], 2, "{done}");
    assert!(done["output"].as_str().expect("output").contains("survive"));

    // Nothing runs it again afterwards.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(app.sim.controls().request_count(), 2);
    let again = app.job(&id).await;
    assert_eq!(
        (again["attempts"].clone(), again["completed_at"].clone()),
        (done["attempts"].clone(), done["completed_at"].clone())
    );
    app.stop().await;
}

/// SIGTERM lets the in-flight job finish before the process exits.
#[tokio::test]
async fn sigterm_finishes_in_flight_work_then_exits() {
    let app = TestApp::with(Options {
        worker: false,
        ..Default::default()
    })
    .await;
    app.sim.controls().push_script([Fault::Latency { ms: 1500 }]);
    let mut worker = app.worker_process(crate::ELECTRONS);
    let (_, job) = app
        .submit(&json!({ "model": "gpt-4o-mini", "input": { "prompt": "finish me" } }))
        .await;
    let id = job["id"].as_str().expect("id").to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while app.sim.controls().request_count() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker process never called the provider"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let exit = worker.terminate().await.expect("exit status");
    assert!(exit.success(), "{exit:?}");
    let job = app.job(&id).await;
    assert_eq!(job["status"], "succeeded", "finished before exiting: {job}");
    assert_eq!(job["attempts"], 1);
    app.stop().await;
}
