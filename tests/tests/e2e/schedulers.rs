use std::time::Duration;

use electrons::roles;
use electrons_domain::{
    job::Modality,
    queue::{self, Topology},
};
use electrons_tests::{Options, TcpProxy, TestApp};
use lapin::{options::QueueDeclareOptions, types::FieldTable};
use serde_json::json;

/// Jobs the producer could not publish are relayed by the schedulers; with two
/// schedulers racing over the same backlog, each job is published exactly once.
#[tokio::test]
async fn two_schedulers_relay_each_unpublished_job_once() {
    let proxy = TcpProxy::start("127.0.0.1:5672".parse().expect("addr"))
        .await
        .expect("proxy");
    proxy.cut();
    let url = format!("amqp://guest:guest@{}/%2f", proxy.addr());
    let app = TestApp::with(Options {
        worker: false,
        scheduler: false,
        publisher_amqp_url: Some(url),
        ..Default::default()
    })
    .await;

    const JOBS: usize = 200;
    for i in 0..JOBS {
        let (status, _) = app
            .submit(&json!({ "model": "gpt-4o-mini", "input": { "prompt": format!("job {i}") } }))
            .await;
        assert_eq!(status, reqwest::StatusCode::ACCEPTED);
    }
    let unpublished = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM jobs WHERE publish_at IS NOT NULL")
            .fetch_one(&app.pool)
            .await
            .expect("count")
    };
    assert_eq!(unpublished().await, JOBS as i64, "the producer could not publish any");

    let mut settings = app.settings.clone();
    settings.scheduler.batch = 25;
    roles::scheduler(&settings, app.pool.clone(), app.store.clone(), app.shutdown.clone());
    roles::scheduler(&settings, app.pool.clone(), app.store.clone(), app.shutdown.clone());

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while unpublished().await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the schedulers did not relay the backlog"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let connection = queue::connect(&app.settings.broker.url, "test").await.expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    let queue = channel
        .queue_declare(
            Topology::new(&app.settings.broker).queue(Modality::Text).into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("queue");
    assert_eq!(queue.message_count() as usize, JOBS, "each job published exactly once");
    let _ = connection.close(200, "done".into()).await;
    app.stop().await;
}
