use axum::{extract::State, http::StatusCode, Json};
use serde_json::{json, Value};

use super::shapes::{Health, Readiness};
use crate::state::AppState;

/// The process is alive.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "health",
    summary = "Liveness",
    description = "The process is alive.",
    responses(
        (status = 200, description = "Alive", body = Health)
    )
)]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The process can do its work: the job store answers and the broker is connected.
/// A producer without the broker still accepts jobs (they are relayed later), so
/// only the database decides readiness; the broker is reported.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "health",
    summary = "Readiness",
    description = "Ready when the job store answers; the broker is reported (jobs are accepted without it and relayed later).",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "The job store does not answer", body = Readiness)
    )
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = sqlx::query("SELECT 1").execute(&state.pool).await.is_ok();
    let broker = state.publisher.is_connected().await;
    let status = if database {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({ "database": database, "broker": broker })))
}
