//! The OpenAI-compatible API, under `/openai/v1` so its paths never meet the
//! native API's (OpenAI's `/v1/files` is not DE's). A client built for
//! OpenAI (the official SDKs) switches by changing its base URL; each call
//! is a DE job, submitted through the native API in process
//! (`crate::in_process`), so it is in the job list and the console and runs
//! under the caller's limits and budget.
//!
//! `chat` ← `POST /chat/completions`, `images` ← `POST /images/generations`,
//! `speech` ← `POST /audio/speech`, `models` ← `GET /models`; `job` runs one
//! call as a job and waits for it; `stream` streams a chat's text as chunks; `error` gives every refusal OpenAI's shape
//! (`{"error": {message, type, param, code}}`).

mod chat;
mod error;
mod images;
mod job;
mod models;
mod parameters;
mod speech;
mod stream;

use axum::{
    routing::{any, get, post},
    Extension, Router,
};

use crate::{in_process::Api, state::AppState};

pub fn router(api: Api) -> Router<AppState> {
    Router::new()
        .route("/openai/v1/chat/completions", post(chat::create))
        .route("/openai/v1/images/generations", post(images::create))
        .route("/openai/v1/audio/speech", post(speech::create))
        .route("/openai/v1/models", get(models::list))
        .route("/openai/v1/models/{id}", get(models::get))
        .route("/openai/v1/{*rest}", any(error::unknown_route))
        .layer(axum::middleware::from_fn(error::openai_shaped))
        .layer(Extension(api))
}
