//! The Replicate-compatible predictions API, under `/replicate/v1` (its own
//! prefix: a client's `base_url` is `…/replicate`, and it adds `/v1/…`). A
//! client built for Replicate (the official SDKs) switches by changing its
//! base URL; each prediction is a DE job, submitted and read through the native
//! API in process (`crate::in_process`) with the caller's key, so it is in the
//! job list and the console and runs under the key's limits and budget.
//!
//! A model is named `owner/name`: `name` is DE's model id and `owner` its
//! provider (or `de`). `predictions` ← create, read, cancel, list;
//! `secret` ← `GET /webhooks/default/secret`; `problem` gives every refusal
//! Replicate's shape (RFC 7807 problem details).

mod predictions;
mod problem;
mod secret;

use axum::{
    routing::{any, get, post},
    Extension, Router,
};

use crate::{in_process::Api, state::AppState};

pub fn router(api: Api) -> Router<AppState> {
    Router::new()
        .route(
            "/replicate/v1/predictions",
            post(predictions::create).get(predictions::list),
        )
        .route(
            "/replicate/v1/models/{owner}/{name}/predictions",
            post(predictions::create_for_model),
        )
        .route("/replicate/v1/predictions/{id}", get(predictions::get))
        .route("/replicate/v1/predictions/{id}/cancel", post(predictions::cancel))
        .route("/replicate/v1/webhooks/default/secret", get(secret::get))
        .route("/replicate/v1/{*rest}", any(problem::unknown_route))
        .layer(axum::middleware::from_fn(problem::replicate_shaped))
        .layer(Extension(api))
}
