//! The simulator's own HTTP API, for humans and for processes that do not embed it.

use std::time::Duration;

use axum::{
    extract::State,
    routing::{get, post, put},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{Controls, Fault};

pub fn router() -> Router<Controls> {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({ "status": "ok" })) }))
        .route("/_sim/stats", get(stats))
        .route("/_sim/config", put(configure))
        .route("/_sim/script", post(script))
        .route("/_sim/reset", post(reset))
}

async fn stats(State(controls): State<Controls>) -> Json<Value> {
    let all = controls.requests();
    let mut by_endpoint = serde_json::Map::new();
    for request in &all {
        let count = by_endpoint.entry(request.endpoint.clone()).or_insert(json!(0));
        *count = json!(count.as_u64().unwrap_or(0) + 1);
    }
    let recent = &all[all.len().saturating_sub(100)..];
    Json(json!({ "requests": controls.request_count(), "by_endpoint": by_endpoint, "recent": recent }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    latency_ms: Option<u64>,
    #[serde(default)]
    default_fault: Option<Fault>,
}

async fn configure(State(controls): State<Controls>, Json(config): Json<Config>) -> Json<Value> {
    if let Some(ms) = config.latency_ms {
        controls.set_latency(Duration::from_millis(ms));
    }
    controls.set_default_fault(config.default_fault);
    Json(json!({ "latency_ms": controls.latency().as_millis() as u64, "default_fault": controls.default_fault() }))
}

async fn script(State(controls): State<Controls>, Json(faults): Json<Vec<Fault>>) -> Json<Value> {
    let queued = faults.len();
    controls.push_script(faults);
    Json(json!({ "queued": queued }))
}

async fn reset(State(controls): State<Controls>) -> Json<Value> {
    controls.reset();
    Json(json!({ "reset": true }))
}
