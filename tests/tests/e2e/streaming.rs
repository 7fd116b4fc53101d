//! Streaming and live status (`GET /v1/jobs/{id}/events`): a text job with
//! `"stream": true` sends its text as the provider writes it (OpenAI's and
//! Anthropic's streams), in order, adding up to the committed output; a
//! client that reconnects with `Last-Event-ID` gets the pieces after that
//! one and no other; any job's events say its status and its end.

use std::time::Duration;

use electrons_tests::TestApp;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// One server-sent event: its name, its id, its data.
#[derive(Debug, Clone)]
struct Seen {
    event: String,
    id: String,
    data: Value,
}

/// The job's events from after `last_event_id`, until `done` or `stop_after` deltas.
async fn follow(app: &TestApp, id: &str, last_event_id: Option<&str>, stop_after: Option<usize>) -> Vec<Seen> {
    let mut request = app
        .http
        .get(format!("{}/v1/jobs/{id}/events", app.base_url))
        .bearer_auth(&app.api_key);
    if let Some(last) = last_event_id {
        request = request.header("last-event-id", last);
    }
    let response = request.send().await.expect("follow the job");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok());
    assert_eq!(content_type, Some("text/event-stream"));
    let mut stream = response.bytes_stream().eventsource();
    let mut seen = Vec::new();
    let read = async {
        while let Some(event) = stream.next().await {
            let event = event.expect("a server-sent event");
            let data = serde_json::from_str(&event.data).unwrap_or(Value::Null);
            let done = event.event == "done";
            seen.push(Seen {
                event: event.event,
                id: event.id,
                data,
            });
            let deltas = seen.iter().filter(|s| s.event == "delta").count();
            if done || stop_after == Some(deltas) {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("the job's events within a minute");
    seen
}

fn text_of(seen: &[Seen]) -> String {
    seen.iter()
        .filter(|s| s.event == "delta")
        .map(|s| s.data["text"].as_str().unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_streamed_job_sends_its_text_in_order_and_resumes_after_the_last_event_id() {
    let app = TestApp::spawn().await;
    let prompt = "tell me about the sea, the wind, the ships and the long roads home [[sim:token_ms=40]]";
    for model in ["gpt-4o-mini", "claude-3.5-haiku"] {
        let (status, job) = app
            .submit(&json!({"model": model, "input": {"prompt": prompt, "stream": true}}))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        let id = job["id"].as_str().expect("an id").to_owned();

        // Three pieces in, the client goes away while the job still runs.
        let first = follow(&app, &id, None, Some(3)).await;
        assert_eq!(first[0].event, "status", "{first:?}");
        let deltas: Vec<&Seen> = first.iter().filter(|s| s.event == "delta").collect();
        assert_eq!(deltas.len(), 3, "{first:?}");
        let ids: Vec<i64> = deltas.iter().map(|d| d.id.parse().expect("a numeric id")).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids in order: {ids:?}");
        assert!(
            first.iter().all(|s| s.event != "done"),
            "the job is still running: {first:?}"
        );

        // Back with the last id: the rest, and nothing twice.
        let rest = follow(&app, &id, Some(&deltas[2].id), None).await;
        let done = rest.last().expect("events");
        assert_eq!(done.event, "done", "{rest:?}");
        assert_eq!(done.data["status"], "succeeded", "{done:?}");
        let rest_ids: Vec<i64> = rest
            .iter()
            .filter(|s| s.event == "delta")
            .map(|d| d.id.parse().unwrap_or(0))
            .collect();
        assert!(rest_ids.iter().all(|id| *id > ids[2]), "{rest_ids:?} after {ids:?}");
        assert!(rest_ids.len() >= 3, "the rest came in pieces too: {rest:?}");
        let output = app.job(&id).await["output"].as_str().unwrap_or_default().to_owned();
        assert!(output.starts_with("Simulated reply from"), "{output}");
        assert_eq!(format!("{}{}", text_of(&first), text_of(&rest)), output, "{model}");
        assert_eq!(done.data["output"], output.as_str());

        // From the start, after the end: every piece, then done.
        let whole = follow(&app, &id, None, None).await;
        assert_eq!(text_of(&whole), output, "{model}: {whole:?}");
        assert!(whole.iter().all(|s| s.event != "restart"));

        // One billed call, with the tokens its stream reported.
        let job = app.job(&id).await;
        let calls = job["metrics"]["calls"].as_array().cloned().unwrap_or_default();
        assert_eq!(calls.len(), 1, "{job}");
        assert_eq!(calls[0]["billed"], true, "{job}");
        assert!(job["metrics"]["output_tokens"].as_u64().unwrap_or(0) > 0, "{job}");
        assert!(job["metrics"]["input_tokens"].as_u64().unwrap_or(0) > 0, "{job}");
        assert!(job["metrics"]["finish_reason"].is_string(), "{job}");
    }
    // Once the finished jobs' streams are pruned (the scheduler does it an
    // hour after they end), their events are the end alone, output and all.
    let pruned = electrons_domain::db::stream_deltas::prune(&app.pool, Duration::ZERO, 10_000)
        .await
        .expect("prune");
    assert!(pruned > 0);
    let (_, listed) = app.get("/v1/jobs?limit=1").await;
    let last = listed["data"][0]["id"].as_str().expect("a job").to_owned();
    let after = follow(&app, &last, None, None).await;
    assert!(after.iter().all(|s| s.event != "delta"), "{after:?}");
    assert_eq!(after.last().map(|s| s.data["status"].clone()), Some(json!("succeeded")));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn any_jobs_events_say_its_status_and_its_end() {
    let app = TestApp::spawn().await;
    let (_, job) = app
        .submit(&json!({"model": "gpt-4o-mini", "input": {"prompt": "hello [[sim:latency=300]]"}}))
        .await;
    let id = job["id"].as_str().expect("an id").to_owned();
    let seen = follow(&app, &id, None, None).await;
    let names: Vec<&str> = seen.iter().map(|s| s.event.as_str()).collect();
    assert_eq!(names.first(), Some(&"status"), "{seen:?}");
    assert_eq!(names.last(), Some(&"done"), "{seen:?}");
    assert!(
        !names.contains(&"delta"),
        "a job that does not stream sends no text: {seen:?}"
    );
    assert!(
        seen.iter().any(|s| s.data["status"] == "running"),
        "the run is told: {seen:?}"
    );
    let done = seen.last().map(|s| s.data.clone()).unwrap_or_default();
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["output"], app.job(&id).await["output"]);

    // A bad Last-Event-ID is refused, naming the header; another project's job is not found.
    let refused = app
        .http
        .get(format!("{}/v1/jobs/{id}/events", app.base_url))
        .bearer_auth(&app.api_key)
        .header("last-event-id", "yesterday")
        .send()
        .await
        .expect("refused");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body: Value = refused.json().await.unwrap_or_default();
    assert_eq!(body["error"]["code"], "invalid_header", "{body}");
    assert_eq!(body["error"]["field"], "Last-Event-ID", "{body}");
    // An id no piece of this job has (ids are counted across jobs) is refused too.
    let foreign = app
        .http
        .get(format!("{}/v1/jobs/{id}/events", app.base_url))
        .bearer_auth(&app.api_key)
        .header("last-event-id", "987654321")
        .send()
        .await
        .expect("refused");
    assert_eq!(foreign.status(), StatusCode::BAD_REQUEST);
    let other = app.project_key("elsewhere").await;
    let hidden = app
        .http
        .get(format!("{}/v1/jobs/{id}/events", app.base_url))
        .bearer_auth(&other)
        .send()
        .await
        .expect("not found");
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}
