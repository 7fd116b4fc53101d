//! A job's webhook deliveries: every attempt with its time, status, latency and
//! error; and redelivery of one that ended (exhausted, disabled or delivered),
//! which starts its retry schedule again under the same `webhook-id`.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use electrons_domain::db::{
    self,
    webhook_deliveries::{parse_webhook_id, Redelivery},
};
use serde_json::{json, Value};

use super::jobs::parse_id;
use crate::{auth::Caller, error::ApiError, state::AppState};

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let job = parse_id(&id)?;
    if db::jobs::get(&state.pool, caller.project_id, job).await?.is_none() {
        return Err(ApiError::not_found("job"));
    }
    let deliveries = db::webhook_deliveries::list_for_job(&state.pool, caller.project_id, job).await?;
    Ok(Json(json!({ "data": deliveries })))
}

pub async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let job = parse_id(&id)?;
    let delivery = parse_webhook_id(&delivery).ok_or_else(|| ApiError::not_found("delivery"))?;
    match db::webhook_deliveries::redeliver(&state.pool, caller.project_id, job, delivery).await? {
        Redelivery::Scheduled(view, message) => {
            state.announcer.announce(message);
            Ok((StatusCode::ACCEPTED, Json(json!(view))))
        }
        Redelivery::NotFound => Err(ApiError::not_found("delivery")),
        Redelivery::InProgress(status) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "delivery_in_progress",
            format!("the delivery is {status}; it can be redelivered once it has ended"),
        )),
        Redelivery::EndpointDisabled => Err(ApiError::new(
            StatusCode::CONFLICT,
            "endpoint_disabled",
            "the webhook URL is disabled (it answered 410 Gone); enable it with POST /v1/webhook-endpoints/enable",
        )
        .with_field("url")),
    }
}
