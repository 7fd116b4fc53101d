//! `GET /webhooks/default/secret` → `{"key": "whsec_…"}`: the caller's
//! current webhook signing secret (the native `GET /v1/webhook-secret`), which
//! the official clients' `validate_webhook` verifies deliveries with — DE
//! signs as Replicate does (Standard Webhooks).

use axum::{
    http::HeaderMap,
    response::{IntoResponse, Response},
    Extension, Json,
};
use serde_json::json;

use super::problem::Problem;
use crate::in_process::{bearer, Api};

pub async fn get(Extension(api): Extension<Api>, headers: HeaderMap) -> Response {
    let answer = api.get(bearer(&headers), "/v1/webhook-secret").await;
    if !answer.ok() {
        return Problem::from_native(answer.status, &answer.body).into_response();
    }
    // The current one: the one not retiring.
    let current = answer.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|secret| secret["retires_at"].is_null())
        .map(|secret| secret["secret"].clone());
    Json(json!({ "key": current })).into_response()
}
