//! The `/_sim` HTTP API steers the same switches as `Controls`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::{chat, openai, spawn_simulator};

#[tokio::test]
async fn the_admin_api_scripts_configures_and_reports() {
    let sim = spawn_simulator().await;
    let http = reqwest::Client::new();
    let base = sim.base_url();

    let health = http.get(format!("{base}/healthz")).send().await.expect("healthz");
    assert_eq!(health.status().as_u16(), 200);

    let script = json!([{ "kind": "status", "status": 503 }, { "kind": "rate_limit", "retry_after_secs": 2 }]);
    let queued: Value = http
        .post(format!("{base}/_sim/script"))
        .json(&script)
        .send()
        .await
        .expect("script")
        .json()
        .await
        .expect("json");
    assert_eq!(queued["queued"], 2);
    assert_eq!(openai(&sim, &chat("x")).await.status, 503);
    assert_eq!(openai(&sim, &chat("x")).await.status, 429);

    let config = json!({ "latency_ms": 5, "default_fault": { "kind": "malformed" }, "operation_ms": 250 });
    let put = http
        .put(format!("{base}/_sim/config"))
        .json(&config)
        .send()
        .await
        .expect("config");
    assert_eq!(put.status().as_u16(), 200);
    assert_eq!(put.json::<Value>().await.expect("json"), config);
    assert_eq!(sim.controls().operation_duration(), Duration::from_millis(250));
    let malformed = openai(&sim, &chat("x")).await;
    assert!(
        serde_json::from_str::<Value>(&malformed.text).is_err(),
        "the default fault applies"
    );

    let stats: Value = http
        .get(format!("{base}/_sim/stats"))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["requests"], 3);
    assert_eq!(stats["by_endpoint"], json!({ "openai.chat": 3 }));
    assert_eq!(stats["recent"].as_array().map(Vec::len), Some(3));
    assert_eq!(stats["recent"][0]["status"], 503);

    let bad = http
        .put(format!("{base}/_sim/config"))
        .json(&json!({ "default_fault": { "kind": "meteor" } }))
        .send()
        .await
        .expect("bad config");
    assert_eq!(bad.status().as_u16(), 400);

    let defaults = http
        .put(format!("{base}/_sim/config"))
        .json(&json!({}))
        .send()
        .await
        .expect("config");
    assert_eq!(
        defaults.json::<Value>().await.expect("json"),
        json!({ "latency_ms": 0, "default_fault": null, "operation_ms": 1000 }),
        "a missing operation_ms means the default"
    );

    http.post(format!("{base}/_sim/reset")).send().await.expect("reset");
    assert_eq!(sim.controls().request_count(), 0);
    assert_eq!(sim.controls().default_fault(), None);
    assert_eq!(openai(&sim, &chat("x")).await.status, 200);
}
