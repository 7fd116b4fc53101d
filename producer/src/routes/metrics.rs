//! `GET /metrics`: this process's Prometheus metrics (`electrons_domain::prometheus`).
//! Unauthenticated, as scrape targets are: it carries counts by model, provider
//! and route, never a job, project or key.

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use electrons_domain::prometheus;

use crate::error::ApiError;

pub async fn render() -> Response {
    match prometheus::render() {
        Some(text) => ([(header::CONTENT_TYPE, prometheus::CONTENT_TYPE)], text).into_response(),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "metrics_off",
            "metrics are off here (DE_METRICS=false)",
        )
        .into_response(),
    }
}
