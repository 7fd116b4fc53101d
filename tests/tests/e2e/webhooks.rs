//! Webhooks (invariant 5): every event is delivered, signed so that an
//! independent Standard Webhooks library verifies it, or visibly not delivered;
//! never to an internal address.

use std::time::Duration;

use electrons_domain::{
    ids::JobId,
    job::WebhookEvent,
    queue::{DeliveryMessage, Publisher, Topology},
};
use electrons_tests::{verifies, Options, Receiver, Reply, TestApp, WorkerProcess};
use reqwest::StatusCode;
use serde_json::{json, Value};

const PROGRAM: &str = crate::ELECTRONS;
const WAIT: Duration = Duration::from_secs(20);

async fn secrets(app: &TestApp) -> Vec<String> {
    let (status, body) = app.get("/v1/webhook-secret").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]
        .as_array()
        .expect("secrets")
        .iter()
        .map(|s| s["secret"].as_str().expect("secret").to_string())
        .collect()
}

async fn submit_with_webhook(app: &TestApp, url: &str, events: &[&str]) -> String {
    let (status, job) = app
        .submit(&json!({
            "model": "gpt-4o-mini",
            "input": { "prompt": "hello" },
            "webhook": url,
            "webhook_events_filter": events,
        }))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    job["id"].as_str().expect("id").to_string()
}

async fn deliveries(app: &TestApp, job: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("/v1/jobs/{job}/deliveries")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_array().cloned().unwrap_or_default()
}

/// Polls the job's deliveries until `done` holds; panics with them after `timeout`.
async fn wait_deliveries(app: &TestApp, job: &str, timeout: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let current = deliveries(app, job).await;
        if done(&current) {
            return current;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "deliveries did not settle in {timeout:?}: {current:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn with_status<'a>(deliveries: &'a [Value], status: &str) -> Vec<&'a Value> {
    deliveries.iter().filter(|d| d["status"] == status).collect()
}

#[tokio::test]
async fn start_and_completion_arrive_signed_and_verified_by_an_independent_library() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let project_secrets = secrets(&app).await;
    receiver.verify_with(&project_secrets);

    let job = submit_with_webhook(&app, &receiver.url("/hooks/de"), &["start", "completed"]).await;
    let finished = app.wait_for(&job, "succeeded", WAIT).await;
    let received = receiver.wait_for(2, WAIT).await;
    let done = wait_deliveries(&app, &job, WAIT, |d| with_status(d, "delivered").len() == 2).await;

    assert!(received.iter().all(|r| r.verified), "every delivery verifies");
    assert!(received.iter().all(|r| r.path == "/hooks/de"));
    let start = received
        .iter()
        .find(|r| r.json["status"] == "running")
        .expect("start event");
    let completed = received
        .iter()
        .find(|r| r.json["status"] == "succeeded")
        .expect("completed event");
    assert_eq!(start.json["id"], job);
    // The completed event is the job object, as polling shows it.
    assert_eq!(completed.json, finished);
    assert_ne!(start.webhook_id(), completed.webhook_id(), "one id per event");
    for delivery in &done {
        assert_eq!(delivery["attempts"], 1);
        assert_eq!(delivery["attempt_log"][0]["status_code"], 204);
        assert!(delivery["attempt_log"][0]["latency_ms"].is_number());
        assert!(delivery["id"].as_str().is_some_and(|id| id.starts_with("msg_")));
    }
    assert!(done.iter().any(|d| d["id"] == completed.webhook_id()));

    // A tampered body, a stranger's secret and an old timestamp are rejected by the same library.
    let secret = &project_secrets[0];
    assert!(verifies(secret, &completed.body, &completed.headers));
    let mut tampered = completed.body.to_vec();
    tampered[10] ^= 1;
    assert!(!verifies(secret, &tampered, &completed.headers));
    assert!(!verifies(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        &completed.body,
        &completed.headers
    ));
    let old = chrono::Utc::now().timestamp() - 600;
    let hook = standardwebhooks::Webhook::new(secret).expect("secret");
    let mut replayed = completed.headers.clone();
    replayed.insert("webhook-timestamp", old.to_string().parse().expect("header"));
    let resigned = hook.sign(&completed.webhook_id(), old, &completed.body).expect("sign");
    replayed.insert("webhook-signature", resigned.parse().expect("header"));
    assert!(
        !verifies(secret, &completed.body, &replayed),
        "old timestamps are refused"
    );

    // A duplicate message for a delivered event sends nothing more.
    let publisher = Publisher::start(
        &app.settings.broker.url,
        Topology::new(&app.settings.broker),
        "test",
        app.shutdown.clone(),
    );
    assert!(publisher.wait_connected(Duration::from_secs(5)).await);
    let job_id: JobId = job.parse().expect("job id");
    for claims in [0, 1] {
        publisher
            .publish_delivery(&DeliveryMessage {
                job_id,
                event: WebhookEvent::Completed,
                claims,
            })
            .await
            .expect("publish duplicate");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 2, "duplicates deliver nothing");

    // While a secret rotates, both signatures are sent: either secret verifies.
    let (status, rotated) = app.post("/v1/webhook-secret/rotate").await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let now_active = secrets(&app).await;
    assert_eq!(now_active.len(), 2);
    let second = submit_with_webhook(&app, &receiver.url("/hooks/de"), &["completed"]).await;
    app.wait_for(&second, "succeeded", WAIT).await;
    let received = receiver.wait_for(3, WAIT).await;
    let last = received.last().expect("delivery");
    assert_eq!(last.header("webhook-signature").split(' ').count(), 2);
    for secret in &now_active {
        assert!(
            verifies(secret, &last.body, &last.headers),
            "verifies under {}",
            &secret[..10]
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_receiver_down_then_up_gets_exactly_one_success_under_one_webhook_id() {
    let mut app = TestApp::with(Options {
        webhooks: false,
        ..Default::default()
    })
    .await;
    // A patient schedule: the receiver comes back between two attempts.
    let mut settings = app.settings.clone();
    settings.webhooks.retry_schedule = "700ms,700ms,700ms,700ms".parse().expect("schedule");
    app.start_webhooks(&settings);
    let addr = Receiver::reserve_port().await;
    let url = format!("http://{addr}/hook");

    let job = submit_with_webhook(&app, &url, &["completed"]).await;
    app.wait_for(&job, "succeeded", WAIT).await;
    let refused = wait_deliveries(&app, &job, WAIT, |d| {
        d.first().is_some_and(|d| d["attempts"].as_i64() >= Some(1))
    })
    .await;
    let error = refused[0]["attempt_log"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("could not connect"), "{error}");

    // Up again, but busy once more before it accepts.
    let receiver = Receiver::start_on(addr).await;
    receiver.verify_with(&secrets(&app).await);
    receiver.script([Reply::status(503)]);
    let done = wait_deliveries(&app, &job, WAIT, |d| with_status(d, "delivered").len() == 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let received = receiver.received();
    assert_eq!(received.len(), 2, "one 503, then one success, then nothing");
    assert_eq!(received.iter().filter(|r| r.answered == 204).count(), 1);
    assert!(received.iter().all(|r| r.webhook_id() == received[0].webhook_id()));
    assert!(
        received.iter().all(|r| r.body == received[0].body),
        "same body on every attempt"
    );
    assert!(received.iter().all(|r| r.verified));
    assert_eq!(done[0]["id"], received[0].webhook_id());
    let log = done[0]["attempt_log"].as_array().expect("attempts");
    assert!(log.len() >= 3, "{log:#?}");
    assert_eq!(log[log.len() - 2]["status_code"], 503);
    assert_eq!(log[log.len() - 1]["status_code"], 204);
    assert!(log[..log.len() - 2].iter().all(|a| a["status_code"].is_null()));
    app.stop().await;
}

#[tokio::test]
async fn gone_disables_the_endpoint_until_it_is_enabled_again() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(410)]);
    let url = receiver.url("/gone");

    let first = submit_with_webhook(&app, &url, &["completed"]).await;
    let disabled = wait_deliveries(&app, &first, WAIT, |d| with_status(d, "disabled").len() == 1).await;
    assert_eq!(disabled[0]["attempts"], 1);
    assert_eq!(disabled[0]["attempt_log"][0]["status_code"], 410);

    // Later jobs to the same URL are not attempted at all.
    let second = submit_with_webhook(&app, &url, &["completed"]).await;
    let refused = wait_deliveries(&app, &second, WAIT, |d| with_status(d, "disabled").len() == 1).await;
    assert_eq!(refused[0]["attempts"], 0);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(receiver.received().len(), 1, "no further attempts after 410");
    let (_, endpoints) = app.get("/v1/webhook-endpoints").await;
    assert_eq!(endpoints["data"][0]["url"], url);
    assert!(endpoints["data"][0]["disabled_at"].is_string());

    // Redelivery is refused while the URL is disabled…
    let id = refused[0]["id"].as_str().expect("id");
    let (status, body) = app.post(&format!("/v1/jobs/{second}/deliveries/{id}/redeliver")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "endpoint_disabled");
    // …and enabling it with redelivery sends what it missed.
    let response = app
        .http
        .post(format!("{}/v1/webhook-endpoints/enable", app.base_url))
        .bearer_auth(&app.api_key)
        .json(&json!({ "url": url, "redeliver": true }))
        .send()
        .await
        .expect("enable");
    assert_eq!(response.status(), StatusCode::OK);
    for job in [&first, &second] {
        wait_deliveries(&app, job, WAIT, |d| with_status(d, "delivered").len() == 1).await;
    }
    assert_eq!(receiver.received().len(), 3);
    app.stop().await;
}

#[tokio::test]
async fn redirects_are_not_followed_and_exhausted_deliveries_can_be_redelivered() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let elsewhere = receiver.url("/elsewhere");
    receiver.script((0..4).map(|_| Reply::status(302).location(&elsewhere)));

    let job = submit_with_webhook(&app, &receiver.url("/hook"), &["completed"]).await;
    let exhausted = wait_deliveries(&app, &job, WAIT, |d| with_status(d, "exhausted").len() == 1).await;
    // The schedule is 3 waits: 4 attempts in all, every one a 302.
    assert_eq!(exhausted[0]["attempts"], 4);
    let received = receiver.received();
    assert_eq!(received.len(), 4);
    assert!(
        received.iter().all(|r| r.path == "/hook"),
        "the Location was never followed"
    );
    assert!(exhausted[0]["last_error"]
        .as_str()
        .is_some_and(|e| e.contains("redirects are not followed")));
    // Whatever happened to the webhook, the result is pollable.
    assert_eq!(app.job(&job).await["status"], "succeeded");

    let id = exhausted[0]["id"].as_str().expect("id").to_string();
    let (status, body) = app.post(&format!("/v1/jobs/{job}/deliveries/{id}/redeliver")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let delivered = wait_deliveries(&app, &job, WAIT, |d| with_status(d, "delivered").len() == 1).await;
    assert_eq!(delivered[0]["attempts"], 5);
    assert_eq!(receiver.received().last().map(|r| r.webhook_id()), Some(id));

    let (status, body) = app
        .post(&format!(
            "/v1/jobs/{job}/deliveries/msg_00000000000000000000000000000000/redeliver"
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn too_many_requests_slows_the_endpoint_down_for_its_retry_after() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(429).retry_after(2)]);

    let job = submit_with_webhook(&app, &receiver.url("/busy"), &["completed"]).await;
    let received = receiver.wait_for(2, WAIT).await;
    let gap = received[1].at - received[0].at;
    assert!(
        gap >= Duration::from_secs(2),
        "retried after {gap:?}, before its Retry-After"
    );
    wait_deliveries(&app, &job, WAIT, |d| with_status(d, "delivered").len() == 1).await;
    app.stop().await;
}

#[tokio::test]
async fn canceled_jobs_report_completion_too() {
    let app = TestApp::with(Options {
        worker: false,
        ..Default::default()
    })
    .await;
    let receiver = Receiver::start().await;
    let job = submit_with_webhook(&app, &receiver.url("/hook"), &["start", "completed"]).await;
    let (status, _) = app.post(&format!("/v1/jobs/{job}/cancel")).await;
    assert_eq!(status, StatusCode::OK);
    let received = receiver.wait_for(1, WAIT).await;
    assert_eq!(received[0].json["status"], "canceled");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "a job that never started sends no start event"
    );
    app.stop().await;
}

#[tokio::test]
async fn internal_webhook_urls_are_refused_at_submit() {
    let app = TestApp::with(Options {
        allow_local_webhooks: false,
        ..Default::default()
    })
    .await;
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9000/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://100.100.100.200/",
        // A name that resolves to a loopback address.
        "http://localhost:8080/hook",
        "gopher://example.com/",
    ] {
        let (status, body) = app
            .submit(&json!({ "model": "gpt-4o-mini", "input": { "prompt": "x" }, "webhook": url }))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
        assert_eq!(body["error"]["code"], "invalid_webhook", "{url}");
        assert_eq!(body["error"]["field"], "webhook", "{url}");
    }
    assert_eq!(app.job_rows().await, 0, "refused submits change nothing");
    app.stop().await;
}

#[tokio::test]
async fn the_deliverer_checks_addresses_again_when_it_connects() {
    // The producer admits loopback (as if DNS said "public" at submit); the
    // deliverer does not: the check at connection time is what protects.
    let mut app = TestApp::with(Options {
        webhooks: false,
        ..Default::default()
    })
    .await;
    let mut strict = app.settings.clone();
    strict.webhooks.allowed_networks = Vec::new();
    app.start_webhooks(&strict);
    let receiver = Receiver::start().await;

    for url in [
        format!("http://localhost:{}/hook", receiver.addr.port()),
        receiver.url("/hook"),
    ] {
        let job = submit_with_webhook(&app, &url, &["completed"]).await;
        let done = wait_deliveries(&app, &job, WAIT, |d| {
            d.first().is_some_and(|d| d["attempts"].as_i64() >= Some(1))
        })
        .await;
        let error = done[0]["attempt_log"][0]["error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            error.starts_with("refused:") && error.contains("loopback"),
            "{url}: {error}"
        );
    }
    assert!(receiver.received().is_empty(), "nothing reached the internal address");
    app.stop().await;
}

#[tokio::test]
async fn killing_the_deliverer_mid_delivery_loses_nothing() {
    let app = TestApp::with(Options {
        webhooks: false,
        ..Default::default()
    })
    .await;
    let receiver = Receiver::start().await;
    // The first attempt hangs past the kill; the receiver may or may not have acted on it.
    receiver.script([Reply::status(204).delayed(Duration::from_secs(60))]);
    let mut deliverer = WorkerProcess::start_webhooks(PROGRAM, &app.settings).expect("deliverer");

    let job = submit_with_webhook(&app, &receiver.url("/hook"), &["completed"]).await;
    receiver.wait_for(1, WAIT).await;
    deliverer.kill().await;
    let mut replacement = WorkerProcess::start_webhooks(PROGRAM, &app.settings).expect("deliverer");

    let done = wait_deliveries(&app, &job, Duration::from_secs(30), |d| {
        with_status(d, "delivered").len() == 1
    })
    .await;
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].webhook_id(), received[1].webhook_id());
    let log = done[0]["attempt_log"].as_array().expect("attempts");
    assert_eq!(log.len(), 2, "{log:#?}");
    assert!(log[0]["error"].as_str().is_some_and(|e| e.contains("stopped")));
    assert_eq!(log[1]["status_code"], 204);
    replacement.kill().await;
    app.stop().await;
}
