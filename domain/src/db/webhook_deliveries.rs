//! Every state change of a webhook delivery. Rows are created by the trigger in
//! migration 5, in the transaction of the job transition they report; from then
//! on each change is one conditional statement fenced by `claims`, as for jobs,
//! so duplicate messages, a killed consumer and two schedulers stay harmless.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::ASYNC_COMMIT;
use crate::{
    ids::JobId,
    job::{DeliveryStatus, Job, WebhookEvent},
    queue::DeliveryMessage,
};

/// How long the process that committed an event has to get its publish
/// confirmed before the scheduler publishes the delivery itself.
const RELAY_GRACE_MS: f64 = 2000.0;

/// A delivery a consumer now holds, with what it needs to send it.
#[derive(Debug, sqlx::FromRow)]
pub struct ClaimedDelivery {
    pub delivery_id: Uuid,
    pub claims: i32,
    /// HTTP attempts before this one.
    pub attempts: i32,
    /// Attempts before this one since the schedule (re)started.
    pub schedule_step: i32,
    pub event: WebhookEvent,
    pub delivery_url: String,
    /// The project's signing secrets now in force, newest first (`None` if it
    /// has none yet).
    pub secrets: Option<Vec<String>>,
    pub endpoint_disabled: bool,
    pub endpoint_paused_until: Option<DateTime<Utc>>,
    /// The job as it was when the event happened.
    #[sqlx(flatten)]
    pub job: Job,
}

/// Takes the deliveries the messages name, if they are still pending, due and
/// at the claim count the message carries. A duplicate gets nothing.
pub async fn claim_many(
    pool: &PgPool,
    messages: &[DeliveryMessage],
    lease: Duration,
) -> Result<Vec<ClaimedDelivery>, sqlx::Error> {
    let jobs: Vec<Uuid> = messages.iter().map(|m| m.job_id.0).collect();
    let events: Vec<&str> = messages.iter().map(|m| m.event.as_str()).collect();
    let claims: Vec<i32> = messages.iter().map(|m| m.claims).collect();
    // The snapshot is expanded in a LATERAL join: `(f(x)).*` in a select list
    // would call f once per column.
    let statement = format!(
        "WITH claimed AS (
             UPDATE webhook_deliveries d SET status = 'delivering', claims = d.claims + 1,
                 lease_until = now() + $4 * interval '1 millisecond', publish_at = NULL, updated_at = now()
             FROM unnest($1::uuid[], $2::text[], $3::int[]) AS m(m_job, m_event, m_claims), {ASYNC_COMMIT}
             WHERE d.job_id = m_job AND d.event = m_event AND d.claims = m_claims
               AND d.status = 'pending' AND d.next_attempt_at <= now()
             RETURNING d.*)
         SELECT c.id AS delivery_id, c.claims, c.attempts, c.schedule_step, c.event, c.url AS delivery_url,
             (SELECT array_agg(s.secret ORDER BY s.created_at DESC) FROM webhook_secrets s
               WHERE s.project_id = c.project_id AND (s.retires_at IS NULL OR s.retires_at > clock_timestamp()))
               AS secrets,
             EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.project_id = c.project_id AND e.url = c.url
                     AND e.disabled_at IS NOT NULL) AS endpoint_disabled,
             (SELECT e.paused_until FROM webhook_endpoints e WHERE e.project_id = c.project_id AND e.url = c.url
                     AND e.paused_until > now()) AS endpoint_paused_until,
             job.*
         FROM claimed c, LATERAL jsonb_populate_record(NULL::jobs, c.snapshot) AS job"
    );
    super::retrying_deadlocks(|| {
        sqlx::query_as(&statement)
            .bind(&jobs)
            .bind(&events)
            .bind(&claims)
            .bind(lease.as_millis() as f64)
            .fetch_all(pool)
    })
    .await
}

/// What happens to a delivery after an attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NextStep {
    Delivered,
    /// Try again after this long.
    RetryIn(Duration),
    Exhausted,
    /// The receiver answered 410 Gone.
    Disabled,
}

impl NextStep {
    /// What the attempt came to, as the metrics name it.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::RetryIn(_) => "retry",
            Self::Exhausted => "exhausted",
            Self::Disabled => "disabled",
        }
    }
}

/// One HTTP attempt and its consequence, for `record_attempts`.
#[derive(Clone, Debug)]
pub struct AttemptRecord {
    pub delivery_id: Uuid,
    pub claims: i32,
    /// 1-based number of this attempt.
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub status_code: Option<u16>,
    pub latency: Duration,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
    pub next: NextStep,
}

/// Records many attempts and moves their deliveries on, in one statement.
/// Returns, per record, whether the delivery was still held by that claim (an
/// attempt is recorded either way: it happened).
pub async fn record_attempts(pool: &PgPool, records: &[AttemptRecord]) -> Result<Vec<bool>, sqlx::Error> {
    let column = |f: fn(&AttemptRecord) -> Option<String>| records.iter().map(f).collect::<Vec<_>>();
    let ids: Vec<Uuid> = records.iter().map(|r| r.delivery_id).collect();
    let claims: Vec<i32> = records.iter().map(|r| r.claims).collect();
    let attempts: Vec<i32> = records.iter().map(|r| r.attempt).collect();
    let started: Vec<DateTime<Utc>> = records.iter().map(|r| r.started_at).collect();
    let codes: Vec<Option<i32>> = records.iter().map(|r| r.status_code.map(i32::from)).collect();
    let latencies: Vec<i32> = records
        .iter()
        .map(|r| r.latency.as_millis().min(i32::MAX as u128) as i32)
        .collect();
    let next_status: Vec<&str> = records
        .iter()
        .map(|r| match r.next {
            NextStep::Delivered => DeliveryStatus::Delivered.as_str(),
            NextStep::RetryIn(_) => DeliveryStatus::Pending.as_str(),
            NextStep::Exhausted => DeliveryStatus::Exhausted.as_str(),
            NextStep::Disabled => DeliveryStatus::Disabled.as_str(),
        })
        .collect();
    let waits: Vec<f64> = records
        .iter()
        .map(|r| match r.next {
            NextStep::RetryIn(wait) => wait.as_millis() as f64,
            _ => 0.0,
        })
        .collect();
    let held: Vec<Uuid> = super::retrying_deadlocks(|| {
        sqlx::query_scalar(
            "WITH r AS (
                 SELECT * FROM unnest($1::uuid[], $2::int[], $3::int[], $4::timestamptz[], $5::int[], $6::int[],
                                      $7::text[], $8::text[], $9::text[], $10::float8[])
                     AS r(r_id, r_claims, r_attempt, r_started, r_code, r_latency, r_error, r_excerpt, r_status, r_wait)),
             recorded AS (
                 INSERT INTO webhook_attempts (delivery_id, attempt, started_at, status_code, latency_ms, error,
                                               response_excerpt)
                 SELECT r_id, r_attempt, r_started, r_code, r_latency, r_error, r_excerpt FROM r
                 ON CONFLICT DO NOTHING)
             UPDATE webhook_deliveries d SET status = r_status, attempts = GREATEST(d.attempts, r_attempt),
                 schedule_step = d.schedule_step + 1,
                 next_attempt_at = CASE WHEN r_status = 'pending'
                     THEN now() + r_wait * interval '1 millisecond' ELSE d.next_attempt_at END,
                 publish_at = CASE WHEN r_status = 'pending' THEN now() + r_wait * interval '1 millisecond' END,
                 lease_until = NULL, last_status_code = r_code, last_error = r_error,
                 delivered_at = CASE WHEN r_status = 'delivered' THEN now() END, updated_at = now()
             FROM r WHERE d.id = r_id AND d.claims = r_claims AND d.status = 'delivering'
             RETURNING d.id",
        )
        .bind(&ids)
        .bind(&claims)
        .bind(&attempts)
        .bind(&started)
        .bind(&codes)
        .bind(&latencies)
        .bind(column(|r| r.error.clone()))
        .bind(column(|r| r.response_excerpt.clone()))
        .bind(&next_status)
        .bind(&waits)
        .fetch_all(pool)
    })
    .await?;
    Ok(records.iter().map(|r| held.contains(&r.delivery_id)).collect())
}

/// Gives a claimed delivery back without an attempt: its endpoint is paused
/// (`Some(until)`), or disabled (`None`).
pub async fn set_aside(
    pool: &PgPool,
    delivery_id: Uuid,
    claims: i32,
    paused_until: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE webhook_deliveries SET lease_until = NULL, updated_at = now(),
             status = CASE WHEN $3::timestamptz IS NULL THEN 'disabled' ELSE 'pending' END,
             last_error = CASE WHEN $3::timestamptz IS NULL
                 THEN 'the endpoint is disabled (it answered 410 Gone); enable it to deliver again'
                 ELSE last_error END,
             next_attempt_at = COALESCE($3, next_attempt_at), publish_at = $3
         WHERE id = $1 AND claims = $2 AND status = 'delivering'",
    )
    .bind(delivery_id)
    .bind(claims)
    .bind(paused_until)
    .execute(pool)
    .await?;
    Ok(())
}

/// A 410: no delivery goes to this URL of the project until it is enabled.
pub async fn disable_endpoint(pool: &PgPool, project: Uuid, url: &str, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO webhook_endpoints (project_id, url, disabled_at, disabled_reason) VALUES ($1, $2, now(), $3)
         ON CONFLICT (project_id, url) DO UPDATE
             SET disabled_at = COALESCE(webhook_endpoints.disabled_at, now()), disabled_reason = $3, updated_at = now()",
    )
    .bind(project)
    .bind(url)
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(())
}

/// A receiver asked to slow down: no delivery goes to it before `until`.
pub async fn pause_endpoint(pool: &PgPool, project: Uuid, url: &str, until: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO webhook_endpoints (project_id, url, paused_until) VALUES ($1, $2, $3)
         ON CONFLICT (project_id, url) DO UPDATE
             SET paused_until = GREATEST(webhook_endpoints.paused_until, $3), updated_at = now()",
    )
    .bind(project)
    .bind(url)
    .bind(until)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records broker confirmations, so the scheduler does not publish these
/// again. Rows another statement holds (the delivery's claim, which clears
/// `publish_at` itself) are skipped, not waited for (see `jobs::mark_published`).
pub async fn mark_published(pool: &PgPool, confirmed: &[DeliveryMessage]) -> Result<u64, sqlx::Error> {
    let jobs: Vec<Uuid> = confirmed.iter().map(|m| m.job_id.0).collect();
    let events: Vec<&str> = confirmed.iter().map(|m| m.event.as_str()).collect();
    let claims: Vec<i32> = confirmed.iter().map(|m| m.claims).collect();
    let statement = format!(
        "WITH confirmed AS (
             SELECT d.id FROM webhook_deliveries d
                 JOIN unnest($1::uuid[], $2::text[], $3::int[]) AS c(c_job, c_event, c_claims)
                 ON d.job_id = c_job AND d.event = c_event AND d.claims = c_claims
             WHERE d.status = 'pending' AND d.publish_at IS NOT NULL AND d.next_attempt_at <= now()
             FOR UPDATE OF d SKIP LOCKED)
         UPDATE webhook_deliveries d SET publish_at = NULL FROM confirmed, {ASYNC_COMMIT} WHERE d.id = confirmed.id"
    );
    let done = sqlx::query(&statement)
        .bind(&jobs)
        .bind(&events)
        .bind(&claims)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// Locks up to `limit` pending deliveries whose publish is due; concurrent
/// schedulers skip each other's rows. Publish, then `clear_publish`, then commit.
pub async fn lock_due_for_publish(
    tx: &mut Transaction<'_, Postgres>,
    limit: i64,
) -> Result<Vec<DeliveryMessage>, sqlx::Error> {
    let rows: Vec<(Uuid, WebhookEvent, i32)> = sqlx::query_as(
        "SELECT job_id, event, claims FROM webhook_deliveries
         WHERE publish_at <= now() AND status = 'pending'
         ORDER BY publish_at LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(job, event, claims)| DeliveryMessage {
            job_id: JobId(job),
            event,
            claims,
        })
        .collect())
}

pub async fn clear_publish(
    tx: &mut Transaction<'_, Postgres>,
    published: &[DeliveryMessage],
) -> Result<(), sqlx::Error> {
    let jobs: Vec<Uuid> = published.iter().map(|m| m.job_id.0).collect();
    let events: Vec<&str> = published.iter().map(|m| m.event.as_str()).collect();
    sqlx::query(
        "UPDATE webhook_deliveries d SET publish_at = NULL
         FROM unnest($1::uuid[], $2::text[]) AS p(p_job, p_event)
         WHERE d.job_id = p_job AND d.event = p_event",
    )
    .bind(&jobs)
    .bind(&events)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deliveries whose consumer died mid-attempt: the attempt is recorded as
/// lost (the receiver may or may not have it; the same `webhook-id` lets it
/// tell) and the delivery is due again at once.
pub async fn rescue_expired(pool: &PgPool, limit: i64) -> Result<u64, sqlx::Error> {
    let rescued = sqlx::query(
        "WITH expired AS (
             SELECT id FROM webhook_deliveries WHERE status = 'delivering' AND lease_until < now()
             ORDER BY lease_until LIMIT $1 FOR UPDATE SKIP LOCKED),
         requeued AS (
             UPDATE webhook_deliveries d SET status = 'pending', attempts = d.attempts + 1,
                 schedule_step = d.schedule_step + 1, lease_until = NULL, next_attempt_at = now(),
                 publish_at = now(), last_status_code = NULL,
                 last_error = 'the delivering process stopped before recording the outcome', updated_at = now()
             FROM expired WHERE d.id = expired.id
             RETURNING d.id, d.attempts, d.last_error)
         INSERT INTO webhook_attempts (delivery_id, attempt, started_at, latency_ms, error)
         SELECT id, attempts, now(), 0, last_error FROM requeued
         ON CONFLICT DO NOTHING",
    )
    .bind(limit)
    .execute(pool)
    .await?;
    Ok(rescued.rows_affected())
}

/// A delivery as the API shows it, with its attempts.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct DeliveryView {
    /// Its `webhook-id`: `msg_` and 32 hex digits.
    #[serde(serialize_with = "webhook_id")]
    #[schema(value_type = String, example = "msg_0199a4c2e9b37d21a0f6c1d2e3f40516")]
    pub id: Uuid,
    pub event: WebhookEvent,
    pub url: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// When the next attempt is due, while one is.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Every attempt: when, the status or error, and how long it took.
    #[sqlx(json)]
    #[schema(value_type = Vec<Object>)]
    pub attempt_log: Value,
}

/// The `webhook-id` of a delivery: `msg_` + 32 hex digits.
pub fn webhook_id_of(id: Uuid) -> String {
    format!("msg_{}", id.simple())
}

fn webhook_id<S: serde::Serializer>(id: &Uuid, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&webhook_id_of(*id))
}

pub fn parse_webhook_id(text: &str) -> Option<Uuid> {
    let hex = text.strip_prefix("msg_")?;
    (hex.len() == 32).then(|| Uuid::try_parse(hex).ok()).flatten()
}

const VIEW: &str = "d.id, d.event, d.url, d.status, d.attempts,
    CASE WHEN d.status = 'pending' THEN d.next_attempt_at END AS next_attempt_at, d.delivered_at,
    d.last_status_code, d.last_error, d.created_at,
    COALESCE((SELECT jsonb_agg(jsonb_build_object(
                  'attempt', a.attempt, 'at', a.started_at, 'status_code', a.status_code,
                  'latency_ms', a.latency_ms, 'error', a.error, 'response', a.response_excerpt)
                  ORDER BY a.attempt)
              FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]'::jsonb) AS attempt_log";

/// A job's deliveries, oldest event first.
pub async fn list_for_job(pool: &PgPool, project: Uuid, job: JobId) -> Result<Vec<DeliveryView>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {VIEW} FROM webhook_deliveries d WHERE d.job_id = $1 AND d.project_id = $2 ORDER BY d.created_at"
    ))
    .bind(job.0)
    .bind(project)
    .fetch_all(pool)
    .await
}

pub enum Redelivery {
    Scheduled(DeliveryView, DeliveryMessage),
    NotFound,
    /// Pending or being delivered: nothing to redeliver yet.
    InProgress(DeliveryStatus),
    EndpointDisabled,
}

/// Starts the retry schedule of a finished delivery again (the same
/// `webhook-id`: it is the same event).
pub async fn redeliver(pool: &PgPool, project: Uuid, job: JobId, delivery: Uuid) -> Result<Redelivery, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let current: Option<(DeliveryStatus, bool)> = sqlx::query_as(
        "SELECT d.status, EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.project_id = d.project_id
                                  AND e.url = d.url AND e.disabled_at IS NOT NULL)
         FROM webhook_deliveries d WHERE d.id = $1 AND d.job_id = $2 AND d.project_id = $3 FOR UPDATE",
    )
    .bind(delivery)
    .bind(job.0)
    .bind(project)
    .fetch_optional(&mut *tx)
    .await?;
    match current {
        None => return Ok(Redelivery::NotFound),
        Some((status @ (DeliveryStatus::Pending | DeliveryStatus::Delivering), _)) => {
            return Ok(Redelivery::InProgress(status))
        }
        Some((_, true)) => return Ok(Redelivery::EndpointDisabled),
        Some(_) => {}
    }
    let message: (Uuid, WebhookEvent, i32) = sqlx::query_as(&format!(
        "UPDATE webhook_deliveries SET status = 'pending', schedule_step = 0, next_attempt_at = now(),
             publish_at = now() + {RELAY_GRACE_MS} * interval '1 millisecond', updated_at = now()
         WHERE id = $1 RETURNING job_id, event, claims"
    ))
    .bind(delivery)
    .fetch_one(&mut *tx)
    .await?;
    let view: DeliveryView = sqlx::query_as(&format!("SELECT {VIEW} FROM webhook_deliveries d WHERE d.id = $1"))
        .bind(delivery)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    let (job, event, claims) = message;
    Ok(Redelivery::Scheduled(
        view,
        DeliveryMessage {
            job_id: JobId(job),
            event,
            claims,
        },
    ))
}

/// A webhook URL with something to say: disabled or paused.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct EndpointView {
    pub url: String,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub paused_until: Option<DateTime<Utc>>,
}

pub async fn endpoints(pool: &PgPool, project: Uuid) -> Result<Vec<EndpointView>, sqlx::Error> {
    sqlx::query_as(
        "SELECT url, disabled_at, disabled_reason, CASE WHEN paused_until > now() THEN paused_until END AS paused_until
         FROM webhook_endpoints WHERE project_id = $1 AND (disabled_at IS NOT NULL OR paused_until > now())
         ORDER BY url",
    )
    .bind(project)
    .fetch_all(pool)
    .await
}

/// Enables a disabled URL again; with `redeliver`, the deliveries it refused
/// while disabled start their schedule again. Returns how many, or `None`
/// when the URL was not disabled.
pub async fn enable_endpoint(
    pool: &PgPool,
    project: Uuid,
    url: &str,
    redeliver: bool,
) -> Result<Option<u64>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let enabled = sqlx::query(
        "UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL, updated_at = now()
         WHERE project_id = $1 AND url = $2 AND disabled_at IS NOT NULL",
    )
    .bind(project)
    .bind(url)
    .execute(&mut *tx)
    .await?;
    if enabled.rows_affected() == 0 {
        return Ok(None);
    }
    let mut redelivered = 0;
    if redeliver {
        redelivered = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', schedule_step = 0, next_attempt_at = now(),
                 publish_at = now(), updated_at = now()
             WHERE project_id = $1 AND url = $2 AND status = 'disabled'",
        )
        .bind(project)
        .bind(url)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    tx.commit().await?;
    Ok(Some(redelivered))
}
