//! Prometheus metrics: the producer's `/metrics` and a worker process's own
//! listener (`DE_METRICS_ADDR`) pass `promtool check metrics`, and their
//! counters and histograms move as jobs are submitted, run, fail, are canceled
//! and have their webhooks delivered. With `DE_METRICS=false` nothing is
//! recorded and `/metrics` says so.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use electrons_domain::prometheus;
use electrons_tests::{Options, Receiver, TestApp, WorkerProcess};
use reqwest::StatusCode;
use serde_json::json;

use crate::ELECTRONS;

const WAIT: Duration = Duration::from_secs(30);

/// One exposition, as `(metric name, labels) → value`.
struct Scrape(Vec<(String, BTreeMap<String, String>, f64)>);

impl Scrape {
    async fn of(http: &reqwest::Client, base_url: &str) -> (String, Self) {
        let response = http
            .get(format!("{base_url}/metrics"))
            .send()
            .await
            .expect("GET /metrics");
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        let text = response.text().await.expect("body");
        let parsed = Self::parse(&text);
        (text, parsed)
    }

    fn parse(text: &str) -> Self {
        let series = text
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .map(|line| {
                let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("sample line {line:?}"));
                let value: f64 = value.parse().unwrap_or_else(|_| panic!("value in {line:?}"));
                let (name, labels) = match series.split_once('{') {
                    Some((name, labels)) => (name, labels.trim_end_matches('}')),
                    None => (series, ""),
                };
                let labels = labels
                    .split("\",")
                    .filter(|pair| !pair.is_empty())
                    .map(|pair| {
                        let (key, value) = pair.split_once('=').unwrap_or_else(|| panic!("label in {line:?}"));
                        (key.to_owned(), value.trim_matches('"').to_owned())
                    })
                    .collect();
                (name.to_owned(), labels, value)
            })
            .collect();
        Self(series)
    }

    /// The sum of `name`'s series carrying every one of `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v)))
            .map(|(_, _, value)| value)
            .sum()
    }

    fn has(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.0
            .iter()
            .any(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v)))
    }
}

/// `promtool`: `DE_PROMTOOL` (set by `.ci/run` from `deploy/promtool.sh`), else on PATH or in its cache.
fn promtool() -> PathBuf {
    if let Some(path) = std::env::var_os("DE_PROMTOOL") {
        return PathBuf::from(path);
    }
    let cached = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/de-promtool/promtool"));
    match cached.filter(|path| path.exists()) {
        Some(path) => path,
        None => PathBuf::from("promtool"),
    }
}

/// `promtool check metrics` on `text`: the exposition is valid and follows Prometheus's naming rules.
async fn lint(text: &str, whose: &str) {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool runs (bash deploy/promtool.sh puts it in place)");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(text.as_bytes()).await.expect("write the exposition");
    drop(stdin);
    let output = child.wait_with_output().await.expect("promtool finishes");
    assert!(
        output.status.success(),
        "promtool check metrics refuses {whose}'s /metrics:\n{}{}\n--- exposition ---\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn submit(app: &TestApp, body: serde_json::Value) -> String {
    let (status, job) = app.submit(&body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    job["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn the_producer_and_a_worker_process_serve_metrics_promtool_accepts_and_they_move_with_the_jobs() {
    let app = TestApp::with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    let mut settings = app.settings.clone();
    settings.metrics.listen_addr = Some("127.0.0.1:0".parse().expect("addr"));
    let worker = WorkerProcess::start_for(ELECTRONS, &settings, "text,image", 8).expect("worker");
    let worker_url = worker.metrics_url().await;
    let (_, producer_before) = Scrape::of(&app.http, &app.base_url).await;
    let receiver = Receiver::start().await;

    let mut succeeded = Vec::new();
    for n in 0..3 {
        let prompt = format!("metrics {n}");
        let body = json!({"model": "gpt-4o-mini", "input": {"prompt": prompt}, "webhook": receiver.url("/hook"),
                          "webhook_events_filter": ["completed"]});
        succeeded.push(submit(&app, body).await);
    }
    succeeded.push(
        submit(
            &app,
            json!({"model": "dall-e-3", "input": {"prompt": "a metered lighthouse"}}),
        )
        .await,
    );
    let failed = submit(
        &app,
        json!({"model": "gpt-4o-mini", "input": {"prompt": "refused [[sim:status=400]]"}}),
    )
    .await;
    app.wait_for_all(&succeeded, "succeeded", WAIT).await;
    app.wait_for(&failed, "failed", WAIT).await;
    receiver.wait_for(3, WAIT).await;
    // A job canceled before it ran (no worker here consumes speech) is counted
    // by the producer that canceled it.
    let canceled = submit(
        &app,
        json!({"model": "multilingual-v2", "input": {"text": "never mind"}}),
    )
    .await;
    let (status, job) = app.post(&format!("/v1/jobs/{canceled}/cancel")).await;
    assert_eq!(status, StatusCode::OK, "{job}");

    // The deliverer and the scheduler run in this process, so the producer's
    // scrape has the attempts and the rate limits' fleet-wide counts (read
    // every 20 ticks: 2 s here).
    let openai = [("limit", "openai")];
    let producer = tokio::time::timeout(WAIT, async {
        loop {
            let (text, scrape) = Scrape::of(&app.http, &app.base_url).await;
            let delivered = scrape.value("de_webhook_attempts_total", &[("outcome", "delivered")]) >= 3.0;
            if delivered && scrape.value("de_rate_limit_granted_total", &openai) >= 5.0 {
                break (text, scrape);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the deliveries and the limits' counts reach the metrics");
    let (producer_text, producer) = producer;
    lint(&producer_text, "the producer").await;
    let moved =
        |name: &str, labels: &[(&str, &str)]| producer.value(name, labels) - producer_before.value(name, labels);
    assert_eq!(
        moved(
            "de_jobs_submitted_total",
            &[("model", "gpt-4o-mini"), ("modality", "text")]
        ),
        4.0
    );
    assert_eq!(
        moved(
            "de_jobs_submitted_total",
            &[("model", "dall-e-3"), ("modality", "image")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "de_jobs_finished_total",
            &[("model", "multilingual-v2"), ("status", "canceled")]
        ),
        1.0
    );
    assert!(
        moved(
            "de_http_requests_total",
            &[("method", "POST"), ("route", "/v1/jobs"), ("status", "202")]
        ) >= 6.0
    );
    assert!(
        producer.value("de_http_request_seconds_count", &[("route", "/v1/jobs/{id}")]) >= 1.0,
        "ids never label"
    );
    assert!(!producer_text.contains(&canceled), "no job id in the metrics");
    assert!(producer.value("de_webhook_attempt_seconds_count", &[("outcome", "delivered")]) >= 3.0);
    // The limit's live state: the tests' open limit holds up to its burst of 1000 requests.
    let level = producer.value("de_rate_limit_level", &[openai[0], ("bucket", "requests")]);
    assert!(level > 900.0 && level <= 1000.0, "{level}");
    assert!(producer.has("de_rate_limit_leases", &openai));
    assert_eq!(producer.value("de_rate_limit_paused", &openai), 0.0);
    assert_eq!(producer.value("de_rate_limit_throttled_total", &openai), 0.0);

    // The worker process: its calls, outcomes, waits and the queues it consumes.
    let (worker_text, scrape) = Scrape::of(&app.http, &worker_url).await;
    lint(&worker_text, "the worker").await;
    let text_model = [("model", "gpt-4o-mini")];
    assert_eq!(
        scrape.value("de_jobs_finished_total", &[text_model[0], ("status", "succeeded")]),
        3.0
    );
    assert_eq!(
        scrape.value("de_jobs_finished_total", &[text_model[0], ("status", "failed")]),
        1.0
    );
    assert_eq!(
        scrape.value(
            "de_jobs_finished_total",
            &[("model", "dall-e-3"), ("status", "succeeded")]
        ),
        1.0
    );
    let calls = |outcome: &str| {
        scrape.value(
            "de_provider_calls_total",
            &[("provider", "openai"), text_model[0], ("outcome", outcome)],
        )
    };
    assert_eq!(calls("answered"), 3.0);
    assert_eq!(calls("rejected"), 1.0, "a 400 is one call, never retried");
    assert_eq!(
        scrape.value("de_provider_call_seconds_count", &[("provider", "openai")]),
        5.0
    );
    // Billed calls only: three texts and one image.
    assert_eq!(scrape.value("de_provider_call_cost_usd_count", &[]), 4.0);
    assert!(scrape.value("de_provider_call_cost_usd_sum", &[]) > 0.0);
    assert_eq!(
        scrape.value("de_rate_limit_grants_total", &[("provider", "openai")]),
        5.0
    );
    assert_eq!(
        scrape.value("de_rate_limit_wait_seconds_count", &[("provider", "openai")]),
        5.0
    );
    assert_eq!(
        scrape.value("de_job_queue_wait_seconds_count", &[("modality", "text")]),
        4.0
    );
    assert_eq!(scrape.value("de_job_run_seconds_count", &[text_model[0]]), 4.0);
    assert_eq!(scrape.value("de_job_end_to_end_seconds_count", &[]), 5.0);
    assert_eq!(scrape.value("de_messages_in_flight", &[("role", "worker")]), 0.0);
    let text_queue = format!("{}.jobs.text", app.settings.broker.prefix);
    let probed = tokio::time::timeout(WAIT, async {
        loop {
            let (_, scrape) = Scrape::of(&app.http, &worker_url).await;
            if scrape.has("de_queue_messages", &[("queue", &text_queue)]) {
                return scrape;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("the worker reports its queues' depths");
    assert_eq!(probed.value("de_queue_consumers", &[("queue", &text_queue)]), 1.0);
    assert!(worker_text.contains("# HELP de_provider_calls_total"), "described");
    let known: Vec<&str> = prometheus::names().collect();
    for (name, _, _) in producer.0.iter().chain(&scrape.0) {
        assert!(known.contains(&family(name)), "{name} is not in prometheus::names()");
    }
    app.stop().await;
}

/// The metric a series belongs to: a histogram's `_bucket`, `_sum` and `_count` are its own.
fn family(series: &str) -> &str {
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|suffix| series.strip_suffix(suffix))
        .filter(|base| base.ends_with("_seconds") || base.ends_with("_usd"))
        .unwrap_or(series)
}

#[test]
fn the_grafana_dashboard_asks_only_for_metrics_de_records() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/grafana/electrons.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the dashboard")).expect("JSON");
    let known: Vec<&str> = prometheus::names().collect();
    let mut asked = std::collections::BTreeSet::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            let names = expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|word| word.starts_with("de_"));
            for name in names {
                assert!(
                    known.contains(&family(name)),
                    "panel {:?} asks for {name}",
                    panel["title"]
                );
                asked.insert(family(name).to_owned());
            }
        }
    }
    let unshown: Vec<&&str> = known.iter().filter(|name| !asked.contains(**name)).collect();
    assert!(unshown.is_empty(), "not on the dashboard: {unshown:?}");
}

#[tokio::test]
async fn with_metrics_off_nothing_is_recorded_and_metrics_says_so() {
    let app = TestApp::with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    let mut settings = app.settings.clone();
    settings.metrics.enabled = false;
    let producer = WorkerProcess::start_role(ELECTRONS, &settings, &["producer"]).expect("producer");
    let url = producer.http_url().await;
    let response = app
        .http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = response.json().await.expect("JSON error");
    assert_eq!(body["error"]["code"], "metrics_off", "{body}");
    app.stop().await;
}
