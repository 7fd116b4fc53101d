//! A project's pipeline at a glance, for the console's overview and
//! `GET /v1/stats`: what its jobs of the last `window` did (finished by the
//! minute, latency percentiles from each job's own metrics, provider calls and
//! 429s, webhook deliveries), what is waiting or running now, and what it
//! spent today and this month. Every query stays inside the project's index
//! range of job ids (UUIDv7, so a time range is an id range).

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::usage::first_id_at;

/// How far back "waiting now" looks: a job queued longer than this is
/// counted by the jobs list, not here.
const WAITING_HORIZON: chrono::Duration = chrono::Duration::days(1);

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub window_seconds: u64,
    pub generated_at: DateTime<Utc>,
    /// Jobs submitted in the window, by status now.
    pub jobs: StatusCounts,
    /// Of the window's jobs that finished: succeeded / (succeeded + failed).
    pub success_rate: Option<f64>,
    /// Jobs finished per minute of the window, oldest first.
    pub per_minute: Vec<MinuteCounts>,
    pub latency_ms: Latencies,
    /// Jobs waiting for a worker and running now, by modality.
    pub now: Vec<ModalityNow>,
    pub providers: Vec<ProviderStats>,
    pub webhooks: WebhookStats,
    pub cost: Cost,
}

#[derive(Clone, Debug, Default, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StatusCounts {
    pub queued: i64,
    pub running: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub canceled: i64,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct MinuteCounts {
    pub minute: DateTime<Utc>,
    pub succeeded: i64,
    pub failed: i64,
    pub canceled: i64,
}

/// p50 / p95 / p99, in milliseconds; absent when no job of the window had one.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Percentiles {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Latencies {
    /// Submit (or retry time) to a worker's claim.
    pub queue_wait: Percentiles,
    /// Waiting for a turn at the fleet-wide rate limits.
    pub token_wait: Percentiles,
    /// The provider's answer time.
    pub provider: Percentiles,
    /// Submit to a terminal status.
    pub end_to_end: Percentiles,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ModalityNow {
    pub modality: String,
    pub waiting: i64,
    pub running: i64,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ProviderStats {
    pub provider: String,
    pub calls: i64,
    pub rate_limited: i64,
    pub failed: i64,
    /// Jobs whose call waited at the rate limits, and the longest wait.
    pub waited: i64,
    pub max_token_wait_ms: Option<f64>,
}

#[derive(Clone, Debug, Default, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct WebhookStats {
    pub delivered: i64,
    /// Pending or being delivered (retries included).
    pub pending: i64,
    /// Gave up after the schedule, or the receiver said 410 Gone.
    pub failed: i64,
    /// The latest failed attempt's error, as the deliverer recorded it.
    pub last_error: Option<String>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Cost {
    pub today_usd: f64,
    pub month_usd: f64,
    /// The project's monthly budget, if it has one.
    pub budget_usd: Option<f64>,
}

pub async fn of_project(pool: &PgPool, project: Uuid, window: Duration) -> Result<Stats, sqlx::Error> {
    let now = Utc::now();
    let since = now - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::minutes(15));
    let from = first_id_at(since);
    let (jobs, latency_ms) = window_jobs(pool, project, from).await?;
    let finished = jobs.succeeded + jobs.failed;
    Ok(Stats {
        window_seconds: window.as_secs(),
        generated_at: now,
        success_rate: (finished > 0).then(|| jobs.succeeded as f64 / finished as f64),
        jobs,
        per_minute: per_minute(pool, project, from).await?,
        latency_ms,
        now: now_by_modality(pool, project, first_id_at(now - WAITING_HORIZON)).await?,
        providers: providers(pool, project, from).await?,
        webhooks: webhooks(pool, project, from).await?,
        cost: cost(pool, project, now).await?,
    })
}

async fn window_jobs(pool: &PgPool, project: Uuid, from: Uuid) -> Result<(StatusCounts, Latencies), sqlx::Error> {
    type Row = (
        i64,
        i64,
        i64,
        i64,
        i64,
        Option<Vec<f64>>,
        Option<Vec<f64>>,
        Option<Vec<f64>>,
        Option<Vec<f64>>,
    );
    let percentiles = |expression: &str, only: &str| {
        format!("percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY {expression}) FILTER (WHERE {only})")
    };
    let row: Row = sqlx::query_as(&format!(
        "SELECT count(*) FILTER (WHERE status = 'queued'), count(*) FILTER (WHERE status = 'running'),
                count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'failed'),
                count(*) FILTER (WHERE status = 'canceled'),
                {}, {}, {}, {}
         FROM jobs WHERE project_id = $1 AND id >= $2",
        percentiles("(metrics->>'queue_ms')::float8", "metrics ? 'queue_ms'"),
        percentiles("(metrics->>'token_wait_ms')::float8", "metrics ? 'token_wait_ms'"),
        percentiles("(metrics->>'provider_ms')::float8", "metrics ? 'provider_ms'"),
        percentiles(
            "extract(epoch FROM completed_at - created_at) * 1000",
            "completed_at IS NOT NULL"
        ),
    ))
    .bind(project)
    .bind(from)
    .fetch_one(pool)
    .await?;
    let counts = StatusCounts {
        queued: row.0,
        running: row.1,
        succeeded: row.2,
        failed: row.3,
        canceled: row.4,
    };
    let latencies = Latencies {
        queue_wait: percentiles_of(row.5),
        token_wait: percentiles_of(row.6),
        provider: percentiles_of(row.7),
        end_to_end: percentiles_of(row.8),
    };
    Ok((counts, latencies))
}

fn percentiles_of(values: Option<Vec<f64>>) -> Percentiles {
    let values = values.unwrap_or_default();
    Percentiles {
        p50: values.first().copied(),
        p95: values.get(1).copied(),
        p99: values.get(2).copied(),
    }
}

async fn per_minute(pool: &PgPool, project: Uuid, from: Uuid) -> Result<Vec<MinuteCounts>, sqlx::Error> {
    sqlx::query_as(
        "SELECT date_trunc('minute', completed_at) AS minute,
                count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
                count(*) FILTER (WHERE status = 'failed') AS failed,
                count(*) FILTER (WHERE status = 'canceled') AS canceled
         FROM jobs WHERE project_id = $1 AND id >= $2 AND completed_at IS NOT NULL
         GROUP BY 1 ORDER BY 1",
    )
    .bind(project)
    .bind(from)
    .fetch_all(pool)
    .await
}

async fn now_by_modality(pool: &PgPool, project: Uuid, from: Uuid) -> Result<Vec<ModalityNow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT modality, count(*) FILTER (WHERE status = 'queued') AS waiting,
                count(*) FILTER (WHERE status = 'running') AS running
         FROM jobs WHERE project_id = $1 AND id >= $2 AND status IN ('queued', 'running')
         GROUP BY 1 ORDER BY 1",
    )
    .bind(project)
    .bind(from)
    .fetch_all(pool)
    .await
}

async fn providers(pool: &PgPool, project: Uuid, from: Uuid) -> Result<Vec<ProviderStats>, sqlx::Error> {
    sqlx::query_as(
        "SELECT j.provider,
                count(c.call) AS calls,
                count(c.call) FILTER (WHERE c.call->>'outcome' = 'rate_limited') AS rate_limited,
                count(c.call) FILTER (WHERE c.call->>'outcome' NOT IN ('answered', 'rate_limited')) AS failed,
                count(DISTINCT j.id) FILTER (WHERE (j.metrics->>'token_wait_ms')::float8 > 0) AS waited,
                max((j.metrics->>'token_wait_ms')::float8) AS max_token_wait_ms
         FROM jobs j LEFT JOIN LATERAL jsonb_array_elements(
                  CASE WHEN jsonb_typeof(j.metrics->'calls') = 'array' THEN j.metrics->'calls' ELSE '[]' END
              ) AS c(call) ON true
         WHERE j.project_id = $1 AND j.id >= $2
         GROUP BY 1 ORDER BY 1",
    )
    .bind(project)
    .bind(from)
    .fetch_all(pool)
    .await
}

async fn webhooks(pool: &PgPool, project: Uuid, from: Uuid) -> Result<WebhookStats, sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE d.status = 'delivered') AS delivered,
                count(*) FILTER (WHERE d.status IN ('pending', 'delivering')) AS pending,
                count(*) FILTER (WHERE d.status IN ('exhausted', 'disabled')) AS failed,
                (array_agg(d.last_error ORDER BY d.updated_at DESC) FILTER (WHERE d.last_error IS NOT NULL))[1]
                    AS last_error
         FROM jobs j JOIN webhook_deliveries d ON d.job_id = j.id
         WHERE j.project_id = $1 AND j.id >= $2",
    )
    .bind(project)
    .bind(from)
    .fetch_one(pool)
    .await
}

async fn cost(pool: &PgPool, project: Uuid, now: DateTime<Utc>) -> Result<Cost, sqlx::Error> {
    let midnight = Utc.from_utc_datetime(&now.date_naive().and_time(NaiveTime::MIN));
    let month_start = now
        .date_naive()
        .with_day(1)
        .map(|day| Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN)))
        .unwrap_or(midnight);
    let (today_usd, month_usd, budget_usd): (f64, f64, Option<f64>) = sqlx::query_as(
        "SELECT COALESCE(sum((metrics->>'cost_usd')::float8) FILTER (WHERE id >= $3), 0),
                COALESCE(sum((metrics->>'cost_usd')::float8), 0),
                (SELECT monthly_usd::float8 FROM budgets WHERE project_id = $1)
         FROM jobs WHERE project_id = $1 AND id >= $2",
    )
    .bind(project)
    .bind(first_id_at(month_start))
    .bind(first_id_at(midnight))
    .fetch_one(pool)
    .await?;
    Ok(Cost {
        today_usd,
        month_usd,
        budget_usd,
    })
}
