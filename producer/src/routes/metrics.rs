//! `GET /metrics`: this process's Prometheus metrics (`electrons_domain::prometheus`).
//! Unauthenticated, as scrape targets are: it carries counts by model, provider
//! and route, never a job, project or key.

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use electrons_domain::prometheus;

use crate::error::{ApiError, ApiErrorBody};

#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "health",
    summary = "Prometheus metrics",
    description = "This process's metrics in Prometheus's text format: counts by model, provider and route, never a job, project or key.",
    responses(
        (status = 200, description = "The exposition", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 404, description = "Metrics are off (`DE_METRICS=false`, `metrics_off`)", body = ApiErrorBody)
    )
)]
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
