//! The caller's webhook signing secret: read it (created on first read) to
//! configure a verifier, or rotate it. After a rotation the previous secret
//! keeps signing for `overlap_secs` (default a day), so receivers can switch
//! without missing a delivery.

use std::time::Duration;

use axum::{extract::State, Json};
use electrons_domain::db::webhook_secrets;
use serde::Deserialize;
use serde_json::{json, Value};

use super::json_body::{self, JsonBody};
use super::shapes::Data;
use crate::{
    auth::Caller,
    error::{ApiError, ApiErrorBody},
    state::AppState,
};
use electrons_domain::db::webhook_secrets::StoredSecret;

const DEFAULT_OVERLAP: Duration = Duration::from_secs(24 * 3600);
const MAX_OVERLAP_SECS: u64 = 30 * 24 * 3600;

#[derive(Default, Deserialize, utoipa::ToSchema)]
#[schema(as = SecretRotation)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// How long the previous secret keeps signing; default a day, at most 30 days.
    overlap_secs: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/v1/webhook-secret",
    operation_id = "getWebhookSecret",
    tag = "webhooks",
    summary = "Read the webhook signing secret",
    description = "The project's secrets that sign deliveries (created on first read): the current one, and a rotated-out one until it retires.",
    responses(
        (status = 200, description = "The secrets", body = Data<StoredSecret>),
        (status = 403, description = "The key lacks the scope this needs (`insufficient_scope`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn get(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let secrets = webhook_secrets::active(&state.pool, caller.project_id).await?;
    Ok(Json(json!({ "data": secrets })))
}

#[utoipa::path(
    post,
    path = "/v1/webhook-secret/rotate",
    operation_id = "rotateWebhookSecret",
    tag = "webhooks",
    summary = "Rotate the webhook signing secret",
    description = "The previous secret keeps signing for `overlap_secs` (default a day). The body is optional.",
    request_body = Option<Rotation>,
    responses(
        (status = 200, description = "The secrets", body = Data<StoredSecret>),
        (status = 403, description = "The key lacks the scope this needs (`insufficient_scope`)", body = ApiErrorBody),
        (status = 422, description = "`overlap_secs` over 30 days (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let rotation: Rotation = if body.iter().all(u8::is_ascii_whitespace) {
        Rotation::default()
    } else {
        json_body::parse(&body)?
    };
    let overlap = match rotation.overlap_secs {
        Some(secs) if secs > MAX_OVERLAP_SECS => {
            return Err(ApiError::invalid(
                "overlap_secs",
                format!("at most {MAX_OVERLAP_SECS} (30 days)"),
            ))
        }
        Some(secs) => Duration::from_secs(secs),
        None => DEFAULT_OVERLAP,
    };
    let secrets = webhook_secrets::rotate(&state.pool, caller.project_id, overlap).await?;
    Ok(Json(json!({ "data": secrets })))
}
