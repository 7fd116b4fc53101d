//! The admin API over rate limits: read every limit's configuration, live state
//! and counters; create, change or remove one. Changes reach every worker on
//! its next acquisition, without a restart, because workers read the limits
//! from PostgreSQL each time.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use electrons_domain::db::{
    audit,
    rate_limits::{self, RateLimitConfig},
};
use serde_json::{json, Value};

use super::json_body::{self, JsonBody};
use super::shapes::Data;
use crate::{
    auth::{Operator, OPERATOR},
    error::{ApiError, ApiErrorBody},
    state::AppState,
};
use electrons_domain::db::rate_limits::RateLimitState;

#[utoipa::path(
    get,
    path = "/v1/admin/rate-limits",
    operation_id = "listRateLimits",
    tag = "admin-rate-limits",
    summary = "List rate limits",
    description = "Each configuration with its live state and counters.",
    responses(
        (status = 200, description = "The limits", body = Data<RateLimitState>),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn list(State(state): State<AppState>, _operator: Operator) -> Result<Json<Value>, ApiError> {
    let limits = rate_limits::list(&state.pool).await?;
    Ok(Json(json!({ "data": limits })))
}

#[utoipa::path(
    get,
    path = "/v1/admin/rate-limits/{id}",
    operation_id = "getRateLimit",
    tag = "admin-rate-limits",
    summary = "Read a rate limit",
    params(
        ("id" = String, Path, description = "The limit's id")
    ),
    responses(
        (status = 200, description = "The limit", body = RateLimitState),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody),
        (status = 404, description = "No such limit", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let limit = rate_limits::get(&state.pool, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("rate limit"))?;
    Ok(Json(json!(limit)))
}

#[utoipa::path(
    put,
    path = "/v1/admin/rate-limits/{id}",
    operation_id = "putRateLimit",
    tag = "admin-rate-limits",
    summary = "Set a rate limit",
    description = "A provider's (optionally one model's) or a project's; reaches every worker on its next acquisition.",
    params(
        ("id" = String, Path, description = "The limit's id")
    ),
    request_body = RateLimitConfig,
    responses(
        (status = 200, description = "The limit", body = RateLimitState),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody),
        (status = 422, description = "A bad id, an unknown provider, model or project, or a value out of range (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn put(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    super::admin_ids::check_rate_limit(&id)?;
    let config: RateLimitConfig = json_body::parse(&body)?;
    validate(&state, &config).await?;
    let mut tx = state.pool.begin().await?;
    let before = rate_limits::get(&mut *tx, &id).await?.map(|limit| json!(limit.config));
    rate_limits::put(&mut *tx, &id, &config).await?;
    audit(&mut tx, "rate_limit.put", &id, before, Some(json!(config))).await?;
    tx.commit().await?;
    get(State(state), Operator, Path(id)).await
}

#[utoipa::path(
    delete,
    path = "/v1/admin/rate-limits/{id}",
    operation_id = "deleteRateLimit",
    tag = "admin-rate-limits",
    summary = "Remove a rate limit",
    params(
        ("id" = String, Path, description = "The limit's id")
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody),
        (status = 404, description = "No such limit", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut tx = state.pool.begin().await?;
    let before = rate_limits::get(&mut *tx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("rate limit"))?;
    rate_limits::delete(&mut *tx, &id).await?;
    audit(&mut tx, "rate_limit.delete", &id, Some(json!(before.config)), None).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rate limits are the operator's; a project's limit belongs to that project's trail too.
async fn audit(
    tx: &mut sqlx::PgConnection,
    action: &str,
    id: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<(), sqlx::Error> {
    let project = [&after, &before]
        .into_iter()
        .flatten()
        .find_map(|config| config["project"].as_str().and_then(|p| p.parse().ok()));
    audit::record(
        tx,
        audit::Entry {
            actor: OPERATOR,
            action,
            target: format!("rate_limit:{id}"),
            project_id: project,
            before,
            after,
        },
    )
    .await
}

async fn validate(state: &AppState, config: &RateLimitConfig) -> Result<(), ApiError> {
    match (&config.provider, &config.model, &config.project) {
        (Some(provider), model, None) => {
            let catalog = state.catalog.get().await;
            if !catalog.providers.contains_key(provider) {
                return Err(ApiError::invalid("provider", format!("no provider `{provider}`")));
            }
            if let Some(model) = model {
                let base = catalog.base_provider(provider);
                if catalog.models.get(model).is_none_or(|m| m.provider != base) {
                    return Err(ApiError::invalid(
                        "model",
                        format!("no model `{model}` on provider `{provider}`"),
                    ));
                }
            }
        }
        (None, None, Some(project)) => {
            let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM projects WHERE id = $1)")
                .bind(project)
                .fetch_one(&state.pool)
                .await?;
            if !exists {
                return Err(ApiError::invalid("project", format!("no project `{project}`")));
            }
        }
        _ => {
            return Err(ApiError::invalid(
                "provider",
                "name either a provider (optionally with a model) or a project",
            ))
        }
    }
    if config.provider.is_some() && config.requests_per_interval.is_none() && config.max_concurrent.is_none() {
        return Err(ApiError::invalid(
            "requests_per_interval",
            "a provider's limit must meter requests or concurrency",
        ));
    }
    positive("requests_per_interval", config.requests_per_interval)?;
    positive("request_interval_ms", config.request_interval_ms.map(f64::from))?;
    positive("token_interval_ms", config.token_interval_ms.map(f64::from))?;
    positive("lease_ms", config.lease_ms.map(f64::from))?;
    positive("max_concurrent", config.max_concurrent.map(f64::from))?;
    positive("tokens_per_interval", config.tokens_per_interval.map(|n| n as f64))?;
    positive(
        "input_tokens_per_interval",
        config.input_tokens_per_interval.map(|n| n as f64),
    )?;
    positive(
        "output_tokens_per_interval",
        config.output_tokens_per_interval.map(|n| n as f64),
    )?;
    if config.arrival_margin_ms.is_some_and(|m| m < 0) {
        return Err(ApiError::invalid("arrival_margin_ms", "must be 0 or more"));
    }
    if config.request_burst.is_some_and(|b| !(b >= 1.0 && b.is_finite())) {
        return Err(ApiError::invalid("request_burst", "must be at least 1"));
    }
    Ok(())
}

fn positive(field: &str, value: Option<f64>) -> Result<(), ApiError> {
    match value {
        Some(v) if !(v > 0.0 && v.is_finite()) => Err(ApiError::invalid(field, "must be greater than 0")),
        _ => Ok(()),
    }
}
