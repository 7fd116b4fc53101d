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
use super::shapes::Data;
use crate::{
    auth::{Caller, ProjectAdmin},
    error::{ApiError, ApiErrorBody},
    state::AppState,
};
use electrons_domain::db::webhook_deliveries::DeliveryView;

#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/deliveries",
    operation_id = "listDeliveries",
    tag = "webhooks",
    summary = "List a job's webhook deliveries",
    description = "Every delivery with its attempts: time, status, latency and error.",
    params(
        ("id" = String, Path, description = "The job's id (`job_…`)")
    ),
    responses(
        (status = 200, description = "The deliveries", body = Data<DeliveryView>),
        (status = 403, description = "The key lacks the scope this needs (`insufficient_scope`)", body = ApiErrorBody),
        (status = 404, description = "No such job in this project", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    reader: ProjectAdmin,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let job = parse_id(&id)?;
    // The operator reads any project's deliveries; a key its own project's.
    let project = super::jobs::readable(&state, &reader, job).await?.project_id;
    let deliveries = db::webhook_deliveries::list_for_job(&state.pool, project, job).await?;
    Ok(Json(json!({ "data": deliveries })))
}

#[utoipa::path(
    post,
    path = "/v1/jobs/{id}/deliveries/{delivery}/redeliver",
    operation_id = "redeliverWebhook",
    tag = "webhooks",
    summary = "Redeliver a webhook",
    description = "Starts the retry schedule of a delivery that ended (delivered, exhausted or disabled) again, under the same `webhook-id`.",
    params(
        ("id" = String, Path, description = "The job's id (`job_…`)"),
        ("delivery" = String, Path, description = "The delivery's `webhook-id` (`msg_…`)")
    ),
    responses(
        (status = 202, description = "Scheduled", body = DeliveryView),
        (status = 403, description = "The key lacks the scope this needs (`insufficient_scope`)", body = ApiErrorBody),
        (status = 404, description = "No such job or delivery", body = ApiErrorBody),
        (status = 409, description = "The delivery has not ended (`delivery_in_progress`) or its URL is disabled (`endpoint_disabled`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
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
