//! Webhook URLs with a state of their own: disabled after a 410 Gone, or
//! paused because the receiver asked to slow down. A disabled URL is enabled
//! again here, optionally redelivering what it refused meanwhile.

use axum::{extract::State, Json};
use electrons_domain::db::webhook_deliveries;
use serde::Deserialize;
use serde_json::{json, Value};

use super::json_body::{self, JsonBody};
use super::shapes::{Data, EndpointEnabled};
use crate::{
    auth::Caller,
    error::{ApiError, ApiErrorBody},
    state::AppState,
};
use electrons_domain::db::webhook_deliveries::EndpointView;

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = EnableEndpoint)]
#[serde(deny_unknown_fields)]
pub struct Enable {
    url: String,
    /// Redeliver what the URL refused while disabled.
    #[serde(default)]
    redeliver: bool,
}

#[utoipa::path(
    get,
    path = "/v1/webhook-endpoints",
    operation_id = "listWebhookEndpoints",
    tag = "webhooks",
    summary = "List disabled and paused webhook URLs",
    description = "Disabled after a 410 Gone, or paused because the receiver asked to slow down.",
    responses(
        (status = 200, description = "The endpoints", body = Data<EndpointView>),
        (status = 403, description = "The key lacks the scope this needs (`insufficient_scope`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let endpoints = webhook_deliveries::endpoints(&state.pool, caller.project_id).await?;
    Ok(Json(json!({ "data": endpoints })))
}

#[utoipa::path(
    post,
    path = "/v1/webhook-endpoints/enable",
    operation_id = "enableWebhookEndpoint",
    tag = "webhooks",
    summary = "Enable a disabled webhook URL",
    description = "Optionally redelivers what it refused meanwhile.",
    request_body = Enable,
    responses(
        (status = 200, description = "Enabled", body = EndpointEnabled),
        (status = 403, description = "The key lacks the scope this needs (`insufficient_scope`)", body = ApiErrorBody),
        (status = 404, description = "No disabled endpoint with this URL", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
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
