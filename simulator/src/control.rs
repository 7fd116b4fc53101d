//! The simulator's own HTTP API under `/_sim`, for the standalone binary and for
//! humans with curl; it drives the same `Controls` that tests hold in-process.
//!
//! - `GET /healthz`
//! - `GET /_sim/stats` → `{"requests", "by_endpoint", "recent": [last 100]}`
//! - `GET /_sim/config`, `PUT /_sim/config` `{"latency_ms", "default_fault",
//!   "operation_ms"}` (a PUT replaces the whole configuration; a missing field
//!   means 0 / none, and for `operation_ms` the default, 1000)
//! - `GET /_sim/files/{id}.{ext}`: the output files answers link to (`files.rs`)
//! - `POST /_sim/script` `[Fault, …]`
//! - `GET /_sim/account-limits` → the limits or `null`; `PUT` `{"requests_per_minute",
//!   "tokens_per_minute", "input_tokens_per_minute", "output_tokens_per_minute",
//!   "enforce"}` (missing means unlimited / false; every bucket starts full); `DELETE` clears
//! - `POST /_sim/reset`

use std::time::Duration;

use axum::{
    extract::{rejection::JsonRejection, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    account::AccountLimits,
    controls::{Controls, DEFAULT_OPERATION_DURATION},
    faults::Fault,
};

/// How many requests `GET /_sim/stats` lists.
const RECENT: usize = 100;

pub fn router() -> Router<Controls> {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({ "status": "ok" })) }))
        .route("/_sim/stats", get(stats))
        .route("/_sim/config", get(config).put(configure))
        .route("/_sim/script", post(script))
        .route(
            "/_sim/account-limits",
            get(account_limits).put(limit_account).delete(unlimit_account),
        )
        .route("/_sim/reset", post(reset))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    latency_ms: u64,
    #[serde(default)]
    default_fault: Option<Fault>,
    /// How long long-running operations take.
    #[serde(default = "default_operation_ms")]
    operation_ms: u64,
}

fn default_operation_ms() -> u64 {
    u64::try_from(DEFAULT_OPERATION_DURATION.as_millis()).unwrap_or(u64::MAX)
}

impl Config {
    fn of(controls: &Controls) -> Self {
        Self {
            latency_ms: u64::try_from(controls.latency().as_millis()).unwrap_or(u64::MAX),
            default_fault: controls.default_fault(),
            operation_ms: u64::try_from(controls.operation_duration().as_millis()).unwrap_or(u64::MAX),
        }
    }
}

async fn stats(State(controls): State<Controls>) -> Response {
    Json(controls.summary(RECENT)).into_response()
}

async fn config(State(controls): State<Controls>) -> Response {
    Json(Config::of(&controls)).into_response()
}

async fn configure(State(controls): State<Controls>, config: Result<Json<Config>, JsonRejection>) -> Response {
    let Json(config) = match config {
        Ok(config) => config,
        Err(rejection) => return bad_json(rejection),
    };
    controls.set_latency(Duration::from_millis(config.latency_ms));
    controls.set_default_fault(config.default_fault);
    controls.set_operation_duration(Duration::from_millis(config.operation_ms));
    Json(Config::of(&controls)).into_response()
}

async fn script(State(controls): State<Controls>, faults: Result<Json<Vec<Fault>>, JsonRejection>) -> Response {
    let Json(faults) = match faults {
        Ok(faults) => faults,
        Err(rejection) => return bad_json(rejection),
    };
    let queued = faults.len();
    controls.push_script(faults);
    Json(json!({ "queued": queued })).into_response()
}

async fn account_limits(State(controls): State<Controls>) -> Response {
    Json(controls.account_limits()).into_response()
}

async fn limit_account(
    State(controls): State<Controls>,
    limits: Result<Json<AccountLimits>, JsonRejection>,
) -> Response {
    let Json(limits) = match limits {
        Ok(limits) => limits,
        Err(rejection) => return bad_json(rejection),
    };
    controls.set_account_limits(Some(limits));
    Json(controls.account_limits()).into_response()
}

async fn unlimit_account(State(controls): State<Controls>) -> Response {
    controls.set_account_limits(None);
    Json(controls.account_limits()).into_response()
}

async fn reset(State(controls): State<Controls>) -> Response {
    controls.reset();
    Json(json!({ "reset": true })).into_response()
}

/// Keeps the admin API answering in JSON even when the caller's JSON is wrong.
fn bad_json(rejection: JsonRejection) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": rejection.body_text() }))).into_response()
}
