//! Rate limit configuration and state as the admin API sees them. The hot-path
//! writers (acquire, settle, observe, pause) are functions in the database,
//! called from `limiter`; this file only reads and configures.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

/// The configurable part of a limit. Absent fields mean "not metered" (and the
/// documented defaults for the intervals and the lease).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, sqlx::FromRow, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// The provider whose calls this limits (with `model`, only that model's).
    pub provider: Option<String>,
    pub model: Option<String>,
    /// Or a project: a quota on its jobs, whatever the provider.
    pub project: Option<Uuid>,
    pub requests_per_interval: Option<f64>,
    pub request_interval_ms: Option<i32>,
    pub request_burst: Option<f64>,
    /// How much of the rate (in ms) is kept out of the burst so requests that
    /// bunch up in transit still arrive within the limit; default 50.
    pub arrival_margin_ms: Option<i32>,
    pub tokens_per_interval: Option<i64>,
    pub input_tokens_per_interval: Option<i64>,
    pub output_tokens_per_interval: Option<i64>,
    pub token_interval_ms: Option<i32>,
    pub max_concurrent: Option<i32>,
    pub lease_ms: Option<i32>,
}

/// A limit with its live state and counters.
#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RateLimitState {
    pub id: String,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub config: RateLimitConfig,
    /// What each bucket holds now (refilled to the moment of reading).
    pub request_level: f64,
    pub token_level: f64,
    pub input_token_level: f64,
    pub output_token_level: f64,
    pub paused_until: Option<DateTime<Utc>>,
    pub active_leases: i64,
    pub reported_requests_per_minute: Option<f64>,
    pub reported_tokens_per_minute: Option<f64>,
    pub reported_input_tokens_per_minute: Option<f64>,
    pub reported_output_tokens_per_minute: Option<f64>,
    pub granted: i64,
    pub waited: i64,
    pub wait_ms: i64,
    pub deferred: i64,
    pub throttled: i64,
    pub tokens_reserved: i64,
    pub tokens_refunded: i64,
    pub config_updated_at: DateTime<Utc>,
}

const SELECT_STATE: &str = "
    SELECT r.id, r.provider_id AS provider, r.model_id AS model, r.project_id AS project,
           r.requests_per_interval, r.request_interval_ms, r.request_burst, r.arrival_margin_ms,
           r.tokens_per_interval, r.input_tokens_per_interval, r.output_tokens_per_interval,
           r.token_interval_ms, r.max_concurrent, r.lease_ms,
           (f).request_level, (f).token_level, (f).input_token_level, (f).output_token_level,
           r.paused_until,
           (SELECT count(*) FROM rate_limit_leases x WHERE x.rate_limit_id = r.id AND x.expires_at > now())
               AS active_leases,
           r.reported_requests_per_minute, r.reported_tokens_per_minute,
           r.reported_input_tokens_per_minute, r.reported_output_tokens_per_minute,
           r.granted, r.waited, r.wait_ms, r.deferred, r.throttled, r.tokens_reserved, r.tokens_refunded,
           r.config_updated_at
    FROM rate_limits r, LATERAL (SELECT rate_limit_refilled(r, clock_timestamp()) AS f) AS refilled";

pub async fn list(pool: &PgPool) -> Result<Vec<RateLimitState>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT_STATE} ORDER BY r.id"))
        .fetch_all(pool)
        .await
}

pub async fn get(pool: impl sqlx::PgExecutor<'_>, id: &str) -> Result<Option<RateLimitState>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT_STATE} WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Creates the limit or replaces its configuration; its state and counters
/// carry over, so a running fleet sees the change on its next acquisition.
pub async fn put(pool: impl sqlx::PgExecutor<'_>, id: &str, config: &RateLimitConfig) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO rate_limits (id, provider_id, model_id, project_id,
                requests_per_interval, request_interval_ms, request_burst,
                tokens_per_interval, input_tokens_per_interval, output_tokens_per_interval,
                token_interval_ms, max_concurrent, lease_ms, arrival_margin_ms)
         VALUES ($1, $2, $3, $4, $5, COALESCE($6, 1000), $7, $8, $9, $10, COALESCE($11, 60000), $12,
                 COALESCE($13, 150000), COALESCE($14, 50))
         ON CONFLICT (id) DO UPDATE SET
                provider_id = EXCLUDED.provider_id, model_id = EXCLUDED.model_id,
                project_id = EXCLUDED.project_id,
                requests_per_interval = EXCLUDED.requests_per_interval,
                request_interval_ms = EXCLUDED.request_interval_ms,
                request_burst = EXCLUDED.request_burst,
                tokens_per_interval = EXCLUDED.tokens_per_interval,
                input_tokens_per_interval = EXCLUDED.input_tokens_per_interval,
                output_tokens_per_interval = EXCLUDED.output_tokens_per_interval,
                token_interval_ms = EXCLUDED.token_interval_ms,
                max_concurrent = EXCLUDED.max_concurrent, lease_ms = EXCLUDED.lease_ms,
                arrival_margin_ms = EXCLUDED.arrival_margin_ms,
                config_updated_at = now()",
    )
    .bind(id)
    .bind(&config.provider)
    .bind(&config.model)
    .bind(config.project)
    .bind(config.requests_per_interval)
    .bind(config.request_interval_ms)
    .bind(config.request_burst)
    .bind(config.tokens_per_interval)
    .bind(config.input_tokens_per_interval)
    .bind(config.output_tokens_per_interval)
    .bind(config.token_interval_ms)
    .bind(config.max_concurrent)
    .bind(config.lease_ms)
    .bind(config.arrival_margin_ms)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn delete(pool: impl sqlx::PgExecutor<'_>, id: &str) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM rate_limits WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(deleted.rows_affected() > 0)
}

/// Lifts a provider's limits out of the way: `per_second` requests a second,
/// tokens and concurrency unmetered (benchmarks and tests of other things).
pub async fn open_provider(pool: &PgPool, provider: &str, per_second: f64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE rate_limits SET requests_per_interval = $2, request_interval_ms = 1000, request_burst = $2,
                tokens_per_interval = NULL, input_tokens_per_interval = NULL,
                output_tokens_per_interval = NULL, max_concurrent = NULL, reported_requests_per_minute = NULL,
                reported_tokens_per_minute = NULL, paused_until = NULL, config_updated_at = now()
         WHERE provider_id = $1 AND model_id IS NULL",
    )
    .bind(provider)
    .bind(per_second)
    .execute(pool)
    .await?;
    Ok(())
}
