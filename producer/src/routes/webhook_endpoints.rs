//! Webhook URLs with a state of their own: disabled after a 410 Gone, or
//! paused because the receiver asked to slow down. A disabled URL is enabled
//! again here, optionally redelivering what it refused meanwhile.

use axum::{extract::State, Json};
use electrons_domain::db::webhook_deliveries;
use serde::Deserialize;
use serde_json::{json, Value};

use super::json_body::{self, JsonBody};
use crate::{auth::Caller, error::ApiError, state::AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enable {
    url: String,
    #[serde(default)]
    redeliver: bool,
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let endpoints = webhook_deliveries::endpoints(&state.pool, caller.project_id).await?;
    Ok(Json(json!({ "data": endpoints })))
}

pub async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let enable: Enable = json_body::parse(&body)?;
    let redelivered =
        webhook_deliveries::enable_endpoint(&state.pool, caller.project_id, &enable.url, enable.redeliver)
            .await?
            .ok_or_else(|| ApiError::not_found("disabled webhook endpoint"))?;
    Ok(Json(
        json!({ "url": enable.url, "enabled": true, "redelivered": redelivered }),
    ))
}
