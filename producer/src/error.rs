//! The one error type handlers return, mapped once to an HTTP response:
//! `{"error": {"code", "message", "field"?}}` with a stable `code`.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use electrons_domain::{db::budgets, input::FieldError};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// More of what went wrong, shown beside `code` and `message` (a budget's
    /// amounts).
    pub details: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            details: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_details(mut self, details: impl serde::Serialize) -> Self {
        if let Ok(serde_json::Value::Object(details)) = serde_json::to_value(details) {
            self.details = Some(details);
        }
        self
    }

    /// `402 budget_exceeded`, with what the month holds and what the job needed.
    pub fn budget_exceeded(exceeded: &budgets::Exceeded) -> Self {
        let whose = match &exceeded.instance {
            Some(instance) => format!("instance {instance:?}'s"),
            None => "the project's".to_string(),
        };
        let message = format!(
            "this job could cost up to ${} and {whose} budget for {} has ${} left (${} budget, ${} spent, ${} reserved by jobs in flight)",
            exceeded.required_usd,
            exceeded.month.format("%Y-%m"),
            (exceeded.budget_usd - exceeded.spent_usd - exceeded.reserved_usd).max(0.0),
            exceeded.budget_usd,
            exceeded.spent_usd,
            exceeded.reserved_usd,
        );
        Self::new(StatusCode::PAYMENT_REQUIRED, "budget_exceeded", message).with_details(exceeded)
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message).with_field(field)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send a valid API key as `Authorization: Bearer <key>`",
        )
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        // The detail goes to the log, not to the client.
        tracing::error!(%error, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "something went wrong on our side; try again",
        )
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, e.code, e.message).with_field(e.field)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::from(&e)
    }
}

impl From<&sqlx::Error> for ApiError {
    fn from(e: &sqlx::Error) -> Self {
        if let Some(exceeded) = budgets::exceeded(e) {
            return Self::budget_exceeded(&exceeded);
        }
        if matches!(
            e,
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed
        ) {
            tracing::error!(error = %e, "database unavailable");
            return Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the job store is unavailable; try again",
            );
        }
        Self::internal(e)
    }
}

// For the API reference: the shape `IntoResponse` below writes (it builds the
// JSON itself, so this type only describes it).
/// The body of every error answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ApiErrorBody {
    pub error: ApiErrorDetail,
}

/// Beside `code`, `message` and `field`, some errors say more: `budget_exceeded`
/// carries the budget's `scope`, `instance`, `budget_usd`, `spent_usd`,
/// `reserved_usd`, `required_usd` and `month`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ApiErrorDetail {
    /// Stable, for programs to match on (`not_found`, `invalid_field`, `budget_exceeded`, …).
    #[schema(example = "invalid_field")]
    pub code: String,
    /// For people: what went wrong and what to do.
    pub message: String,
    /// The body field, header or parameter at fault, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub field: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        for (key, value) in self.details.into_iter().flatten() {
            error[key] = value;
        }
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}
