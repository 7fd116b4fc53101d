//! Every state transition of a job, each a single conditional statement so the
//! database enforces the state machine whatever races between processes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::ASYNC_COMMIT;
use crate::{
    ids::JobId,
    job::{Job, JobError, JobStatus, Modality, Priority},
};

pub(super) const COLUMNS: &str = "id, project_id, model, modality, provider, status, priority, input, output, error,
    metrics, metadata, webhook, webhook_events_filter, attempt, deferrals, max_attempts, lease_until, run_at,
    created_at, started_at, completed_at, operation, poll_seq, traceparent, fallbacks, webhook_format, followed";

/// Which run of a job a statement speaks for: its claim (`attempt`) and which
/// poll message it took up (`poll_seq`, moved on whenever the scheduler hands
/// the job to another poller or copier). A run fenced out — canceled, or rescued
/// after its lease expired and taken up again — changes nothing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fence {
    pub id: JobId,
    pub attempt: i32,
    pub poll_seq: i32,
}

impl Job {
    pub fn fence(&self) -> Fence {
        Fence {
            id: self.id,
            attempt: self.attempt,
            poll_seq: self.poll_seq,
        }
    }
}

pub struct NewJob {
    pub id: JobId,
    pub project_id: Uuid,
    pub model: String,
    pub modality: Modality,
    pub provider: String,
    pub priority: Priority,
    pub input: Value,
    pub metadata: Value,
    pub webhook: Option<String>,
    pub webhook_events_filter: Vec<String>,
    pub max_attempts: i32,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
    pub notify_on_finish: bool,
    /// If the producer's own publish is not confirmed by then, the scheduler publishes.
    pub relay_after: Duration,
    /// The worst-case cost to reserve from the project's budget this month
    /// (`None`: the project has no budget). A job that does not fit is not
    /// inserted: in a batch it comes back [`Inserted::OverBudget`]; with an
    /// idempotency key it must be inserted alone, and its statement fails
    /// (`budgets::exceeded`). See the budgets migration.
    pub budget_reserve_usd: Option<f64>,
    /// The submit's W3C trace context, when traces are exported (`trace_context`).
    pub traceparent: Option<String>,
    /// The models to move to, in order, when the model's provider is exhausted.
    pub fallbacks: Vec<String>,
    /// `prediction` for webhooks in Replicate's shape; `None`: the job.
    pub webhook_format: Option<String>,
}

pub enum Inserted {
    Created(Job),
    /// The idempotency key was used before with the same request.
    Existing(Job),
    /// The idempotency key was used before with a different request.
    KeyConflict,
    /// Its worst-case cost does not fit its project's budget this month: it
    /// was not inserted, and nothing was reserved.
    OverBudget,
}

/// Inserts many jobs in one statement and one commit (the producer groups the
/// submits in flight). One outcome per job, in order.
pub async fn insert_many(pool: &PgPool, jobs: &[NewJob]) -> Result<Vec<Inserted>, sqlx::Error> {
    let column = |f: fn(&NewJob) -> String| jobs.iter().map(f).collect::<Vec<_>>();
    let ids: Vec<Uuid> = jobs.iter().map(|j| j.id.0).collect();
    let projects: Vec<Uuid> = jobs.iter().map(|j| j.project_id).collect();
    let inputs: Vec<&Value> = jobs.iter().map(|j| &j.input).collect();
    let metadata: Vec<&Value> = jobs.iter().map(|j| &j.metadata).collect();
    let webhooks: Vec<Option<&str>> = jobs.iter().map(|j| j.webhook.as_deref()).collect();
    let keys: Vec<Option<&str>> = jobs.iter().map(|j| j.idempotency_key.as_deref()).collect();
    let traceparents: Vec<Option<&str>> = jobs.iter().map(|j| j.traceparent.as_deref()).collect();
    let max_attempts: Vec<i32> = jobs.iter().map(|j| j.max_attempts).collect();
    let notify: Vec<bool> = jobs.iter().map(|j| j.notify_on_finish).collect();
    let relay_ms: Vec<f64> = jobs.iter().map(|j| j.relay_after.as_millis() as f64).collect();
    let reserve: Vec<Option<f64>> = jobs.iter().map(|j| j.budget_reserve_usd).collect();
    let webhook_formats: Vec<Option<&str>> = jobs.iter().map(|j| j.webhook_format.as_deref()).collect();
    let created: Vec<Job> = sqlx::query_as(&format!(
        "INSERT INTO jobs (id, project_id, model, modality, provider, priority, input, metadata, webhook,
            webhook_events_filter, max_attempts, idempotency_key, request_hash, notify_on_finish, publish_at,
            budget_reserved_usd, budget_month, traceparent, fallbacks, webhook_format, followed)
         SELECT n_id, n_project, n_model, n_modality, n_provider, n_priority, n_input, n_metadata, n_webhook,
                -- Events are validated words without commas; unnest cannot carry text[] per row.
                string_to_array(n_events, ','), n_max_attempts, n_key, n_hash, n_notify,
                now() + n_relay_ms * interval '1 millisecond',
                n_reserve::numeric,
                CASE WHEN n_reserve IS NOT NULL THEN date_trunc('month', now() AT TIME ZONE 'UTC')::date END,
                n_traceparent, string_to_array(n_fallbacks, ','), n_webhook_format,
                -- A job that streams is followed to its end.
                COALESCE(n_input->>'stream' = 'true', false)
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[],
                     $8::jsonb[], $9::text[], $10::text[], $11::int[], $12::text[], $13::text[], $14::bool[],
                     $15::float8[], $16::float8[], $17::text[], $18::text[], $19::text[])
              AS n(n_id, n_project, n_model, n_modality, n_provider, n_priority, n_input, n_metadata, n_webhook,
                   n_events, n_max_attempts, n_key, n_hash, n_notify, n_relay_ms, n_reserve, n_traceparent,
                   n_fallbacks, n_webhook_format)
         ON CONFLICT (project_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
         RETURNING {COLUMNS}"
    ))
    .bind(&ids)
    .bind(&projects)
    .bind(column(|j| j.model.clone()))
    .bind(column(|j| j.modality.as_str().to_string()))
    .bind(column(|j| j.provider.clone()))
    .bind(column(|j| j.priority.as_str().to_string()))
    .bind(&inputs)
    .bind(&metadata)
    .bind(&webhooks)
    .bind(column(|j| j.webhook_events_filter.join(",")))
    .bind(&max_attempts)
    .bind(&keys)
    .bind(column(|j| j.request_hash.clone()))
    .bind(&notify)
    .bind(&relay_ms)
    .bind(&reserve)
    .bind(&traceparents)
    // Model ids hold no commas (admin ids are letters, digits and `-_.:/`).
    .bind(column(|j| j.fallbacks.join(",")))
    .bind(&webhook_formats)
    .fetch_all(pool)
    .await?;
    let mut created: std::collections::HashMap<JobId, Job> = created.into_iter().map(|job| (job.id, job)).collect();
    let mut outcomes = Vec::with_capacity(jobs.len());
    for new in jobs {
        let outcome = match created.remove(&new.id) {
            Some(job) => Inserted::Created(job),
            // Without a key only the budget trigger skips a row.
            None if new.idempotency_key.is_none() && new.budget_reserve_usd.is_some() => Inserted::OverBudget,
            None => existing_for_key(pool, new).await?,
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// A job that was not inserted because its idempotency key exists: the original
/// when the request is the same, a conflict when it is not.
async fn existing_for_key(pool: &PgPool, new: &NewJob) -> Result<Inserted, sqlx::Error> {
    let existing: Option<Job> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE project_id = $1 AND idempotency_key = $2 AND request_hash = $3"
    ))
    .bind(new.project_id)
    .bind(&new.idempotency_key)
    .bind(&new.request_hash)
    .fetch_optional(pool)
    .await?;
    Ok(match existing {
        Some(job) => Inserted::Existing(job),
        None => Inserted::KeyConflict,
    })
}

pub async fn get(pool: &PgPool, project_id: Uuid, id: JobId) -> Result<Option<Job>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1 AND project_id = $2"))
        .bind(id.0)
        .bind(project_id)
        .fetch_optional(pool)
        .await
}

pub async fn get_any(pool: &PgPool, id: JobId) -> Result<Option<Job>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(pool)
        .await
}

/// Marks the job followed (a client reads its events): its start is told on
/// `de_job_progressed` and its finish on `de_job_finished`. A no-op when it is already.
pub async fn follow(pool: &PgPool, id: JobId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE jobs SET notify_on_finish = true, followed = true
         WHERE id = $1 AND NOT (notify_on_finish AND followed)",
    )
    .bind(id.0)
    .execute(pool)
    .await?;
    Ok(())
}

/// Moves a running job to its next fallback model: queued again at once on
/// `model` (of `provider`), without using up an attempt, the move recorded
/// in `metrics.fallbacks` (and the call that made it in `metrics.calls`).
/// `false` if the run no longer holds the job.
pub async fn move_to_fallback(
    pool: &PgPool,
    run: Fence,
    model: &str,
    provider: &str,
    moved: &Value,
    call: Option<&Value>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET status = 'queued', deferrals = deferrals + 1, lease_until = NULL,
                model = $3, provider = $4, fallbacks = fallbacks[2:], error = NULL,
                metrics = jsonb_set(job_metrics_with_call(metrics, $6), '{fallbacks}',
                                    COALESCE(metrics->'fallbacks', '[]'::jsonb) || jsonb_build_array($5::jsonb)),
                run_at = now(), publish_at = now(), updated_at = now()
         WHERE id = $1 AND attempt = $2 AND poll_seq = $7 AND status = 'running' AND fallbacks[1] = $3",
    )
    .bind(run.id.0)
    .bind(run.attempt)
    .bind(model)
    .bind(provider)
    .bind(moved)
    .bind(call)
    .bind(run.poll_seq)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub struct ListFilter {
    pub status: Option<JobStatus>,
    pub model: Option<String>,
    /// Jobs older than this one (ids are time-ordered).
    pub before: Option<JobId>,
    /// Submitted at or after this moment.
    pub created_after: Option<DateTime<Utc>>,
    /// Submitted before this moment.
    pub created_before: Option<DateTime<Utc>>,
    /// Jobs whose metadata holds all of this object's keys and values.
    pub metadata: Option<Value>,
    pub limit: i64,
}

/// Newest first: one project's jobs, or (`None`, the operator's view) every project's.
pub async fn list(pool: &PgPool, project_id: Option<Uuid>, filter: &ListFilter) -> Result<Vec<Job>, sqlx::Error> {
    // Two statements rather than `$1 IS NULL OR project_id = $1`, so a
    // project's list keeps its plan on the project's index.
    let project = if project_id.is_some() {
        "project_id = $1"
    } else {
        "$1::uuid IS NULL"
    };
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM jobs
         WHERE {project}
           AND ($2::text IS NULL OR status = $2)
           AND ($3::text IS NULL OR model = $3)
           AND ($4::uuid IS NULL OR id < $4)
           AND ($6::uuid IS NULL OR id >= $6)
           AND ($7::uuid IS NULL OR id < $7)
           AND ($8::jsonb IS NULL OR metadata @> $8)
         ORDER BY id DESC LIMIT $5"
    ))
    .bind(project_id)
    .bind(filter.status)
    .bind(&filter.model)
    .bind(filter.before.map(|id| id.0))
    .bind(filter.limit)
    // Ids are UUIDv7: a time range is an id range of the project's index.
    .bind(filter.created_after.map(super::usage::first_id_at))
    .bind(filter.created_before.map(super::usage::first_id_at))
    .bind(filter.metadata.as_ref())
    .fetch_all(pool)
    .await
}

/// Cancels a job that has not finished. A job canceled while queued never reaches
/// a provider: the claim only takes queued jobs. `None` when there is no such
/// job; with it, whether this call canceled it (or it had finished already).
pub async fn cancel(pool: &PgPool, project_id: Uuid, id: JobId) -> Result<Option<(Job, bool)>, sqlx::Error> {
    let canceled: Option<Job> = sqlx::query_as(&format!(
        "UPDATE jobs SET status = 'canceled', completed_at = now(), lease_until = NULL, publish_at = NULL,
                poll_at = NULL, answer = NULL, updated_at = now()
         WHERE id = $1 AND project_id = $2 AND status IN ('queued', 'running')
         RETURNING {COLUMNS}"
    ))
    .bind(id.0)
    .bind(project_id)
    .fetch_optional(pool)
    .await?;
    match canceled {
        Some(job) => Ok(Some((job, true))),
        None => Ok(get(pool, project_id, id).await?.map(|job| (job, false))),
    }
}

/// Claims a job for one run: queued → running, attempt + 1, with a lease. Only the
/// message for the job's current attempt can claim it, so duplicates and stale
/// copies get `None`; so does a job canceled or finished meanwhile. A running job
/// whose lease expired (its worker died) may be taken over.
///
/// Takes many messages in one statement; returns the claimed jobs. A job named
/// twice (a duplicate delivered alongside its original) is claimed once.
pub async fn claim_many(pool: &PgPool, messages: &[(JobId, i32)], lease: Duration) -> Result<Vec<Job>, sqlx::Error> {
    let ids: Vec<Uuid> = messages.iter().map(|(id, _)| id.0).collect();
    let attempts: Vec<i32> = messages.iter().map(|(_, a)| *a).collect();
    let statement = format!(
        "UPDATE jobs SET status = 'running', attempt = attempt + 1,
                lease_until = now() + $3 * interval '1 millisecond',
                started_at = COALESCE(started_at, now()), publish_at = NULL, updated_at = now()
         FROM unnest($1::uuid[], $2::int[]) AS m(m_id, m_attempt), {ASYNC_COMMIT}
         WHERE id = m_id
           AND ((status = 'queued' AND attempt = m_attempt AND run_at <= now())
             OR (status = 'running' AND lease_until < now() AND attempt - deferrals < max_attempts
                 AND operation IS NULL AND answer IS NULL))
         RETURNING {COLUMNS}"
    );
    super::retrying_deadlocks(|| {
        sqlx::query_as(&statement)
            .bind(&ids)
            .bind(&attempts)
            .bind(lease.as_millis() as f64)
            .fetch_all(pool)
    })
    .await
}

/// One run's success, for `succeed_many`.
pub struct Success {
    pub run: Fence,
    pub output: Value,
    pub metrics: Value,
    /// How long the files in `output` are kept; `None` when there are none to
    /// delete (text) or retention is off.
    pub keep_files_for: Option<Duration>,
    /// The provider call this run made (`crate::call_record::CallRecord`), if the
    /// run made one (a copy resumed from a committed answer makes none).
    pub call: Option<Value>,
}

/// running → succeeded for many runs, in one statement and one commit. Returns
/// the ids still held by their run (the others were canceled or taken over
/// after their lease expired, and keep their state).
pub async fn succeed_many(pool: &PgPool, runs: &[Success]) -> Result<Vec<JobId>, sqlx::Error> {
    let ids: Vec<Uuid> = runs.iter().map(|r| r.run.id.0).collect();
    let attempts: Vec<i32> = runs.iter().map(|r| r.run.attempt).collect();
    let poll_seqs: Vec<i32> = runs.iter().map(|r| r.run.poll_seq).collect();
    let outputs: Vec<&Value> = runs.iter().map(|r| &r.output).collect();
    let metrics: Vec<&Value> = runs.iter().map(|r| &r.metrics).collect();
    let keep_ms: Vec<Option<f64>> = runs
        .iter()
        .map(|r| r.keep_files_for.map(|d| d.as_millis() as f64))
        .collect();
    let calls: Vec<Option<&Value>> = runs.iter().map(|r| r.call.as_ref()).collect();
    let done: Vec<Uuid> = super::retrying_deadlocks(|| {
        sqlx::query_scalar(
            "UPDATE jobs SET status = 'succeeded', output = r_output, error = NULL,
                metrics = job_metrics_with_call(metrics || r_metrics, r_call), answer = NULL,
                completed_at = now(), lease_until = NULL, poll_at = NULL, updated_at = now(),
                outputs_expire_at = now() + r_keep_ms * interval '1 millisecond'
         FROM unnest($1::uuid[], $2::int[], $3::jsonb[], $4::jsonb[], $5::float8[], $6::jsonb[], $7::int[])
              AS r(r_id, r_attempt, r_output, r_metrics, r_keep_ms, r_call, r_poll_seq)
         WHERE id = r_id AND attempt = r_attempt AND poll_seq = r_poll_seq AND status = 'running'
         RETURNING id",
        )
        .bind(&ids)
        .bind(&attempts)
        .bind(&outputs)
        .bind(&metrics)
        .bind(&keep_ms)
        .bind(&calls)
        .bind(&poll_seqs)
        .fetch_all(pool)
    })
    .await?;
    Ok(done.into_iter().map(JobId).collect())
}

/// Counts provider calls whose run could not commit its outcome (the job was
/// canceled or taken over meanwhile): the provider answered, and may have
/// charged, all the same.
pub async fn record_calls(pool: &PgPool, calls: &[(JobId, &Value)]) -> Result<(), sqlx::Error> {
    if calls.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = calls.iter().map(|(id, _)| id.0).collect();
    let records: Vec<&Value> = calls.iter().map(|(_, call)| *call).collect();
    sqlx::query(
        "UPDATE jobs SET metrics = job_metrics_with_call(metrics, c_call)
         FROM unnest($1::uuid[], $2::jsonb[]) AS c(c_id, c_call) WHERE id = c_id",
    )
    .bind(&ids)
    .bind(&records)
    .execute(pool)
    .await?;
    Ok(())
}

/// Moves a running job's lease to `lease` from now (its run has slow work left,
/// e.g. copying outputs). `false` if the run no longer holds the job.
pub async fn extend_lease(pool: &PgPool, run: Fence, lease: Duration) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET lease_until = now() + $3 * interval '1 millisecond'
         WHERE id = $1 AND attempt = $2 AND poll_seq = $4 AND status = 'running'",
    )
    .bind(run.id.0)
    .bind(run.attempt)
    .bind(lease.as_millis() as f64)
    .bind(run.poll_seq)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// running → failed, for good. `call` is the provider call this run made, if
/// it made one. An answer whose outputs could not be copied goes (it may hold
/// inline bytes nobody will read).
pub async fn fail(
    pool: &PgPool,
    run: Fence,
    error: &JobError,
    metrics: &Value,
    call: Option<&Value>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET status = 'failed', error = $3, metrics = job_metrics_with_call(metrics || $4, $5),
                answer = NULL, completed_at = now(), lease_until = NULL, poll_at = NULL, updated_at = now()
         WHERE id = $1 AND attempt = $2 AND poll_seq = $6 AND status = 'running'",
    )
    .bind(run.id.0)
    .bind(run.attempt)
    .bind(sqlx::types::Json(error))
    .bind(metrics)
    .bind(call)
    .bind(run.poll_seq)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// running → queued with a later `run_at`; the scheduler publishes it when due.
/// The next run starts from nothing: an answer this run had (whose outputs the
/// provider no longer has) is dropped, and `metrics` merged in (a regeneration count).
pub async fn retry_later(
    pool: &PgPool,
    run: Fence,
    error: &JobError,
    delay: Duration,
    metrics: &Value,
    call: Option<&Value>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET status = 'queued', error = $3, lease_until = NULL, answer = NULL, poll_at = NULL,
                metrics = job_metrics_with_call(metrics || $5, $6),
                run_at = now() + $4 * interval '1 millisecond', publish_at = now() + $4 * interval '1 millisecond',
                updated_at = now()
         WHERE id = $1 AND attempt = $2 AND poll_seq = $7 AND status = 'running'",
    )
    .bind(run.id.0)
    .bind(run.attempt)
    .bind(sqlx::types::Json(error))
    .bind(delay.as_millis() as f64)
    .bind(metrics)
    .bind(call)
    .bind(run.poll_seq)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// running → queued without using up the attempt: the job never reached the
/// provider, or the provider only said it was busy (rate limits; `call` records
/// that answer). `attempt` still moves on, never back: a publish confirmation or
/// message for the run that was deferred must not match the job again.
pub async fn defer(
    pool: &PgPool,
    id: JobId,
    attempt: i32,
    delay: Duration,
    call: Option<&Value>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET status = 'queued', deferrals = deferrals + 1, lease_until = NULL,
                metrics = job_metrics_with_call(metrics, $4),
                run_at = now() + $3 * interval '1 millisecond', publish_at = now() + $3 * interval '1 millisecond',
                updated_at = now()
         WHERE id = $1 AND attempt = $2 AND status = 'running'",
    )
    .bind(id.0)
    .bind(attempt)
    .bind(delay.as_millis() as f64)
    .bind(call)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records that the broker confirmed messages for these (job, attempt) pairs, so
/// the scheduler does not publish them again. A pair whose job moved on is ignored.
/// Rows another statement holds are skipped rather than waited for: that is
/// nearly always the job's claim (its message was consumed at once), which
/// clears `publish_at` itself; waiting would only build lock queues (and
/// deadlocks, as claims lock in another order) on the hot path.
pub async fn mark_published(pool: &PgPool, confirmed: &[(JobId, i32)]) -> Result<u64, sqlx::Error> {
    let ids: Vec<Uuid> = confirmed.iter().map(|(id, _)| id.0).collect();
    let attempts: Vec<i32> = confirmed.iter().map(|(_, a)| *a).collect();
    let statement = format!(
        "WITH confirmed AS (
             SELECT j.id FROM jobs j JOIN unnest($1::uuid[], $2::int[]) AS c(id, attempt)
                 ON j.id = c.id AND j.attempt = c.attempt
             WHERE j.status = 'queued' AND j.publish_at IS NOT NULL
             FOR UPDATE OF j SKIP LOCKED)
         UPDATE jobs j SET publish_at = NULL
         FROM confirmed, {ASYNC_COMMIT}
         WHERE j.id = confirmed.id"
    );
    let done = sqlx::query(&statement).bind(&ids).bind(&attempts).execute(pool).await?;
    Ok(done.rows_affected())
}

/// A job the scheduler is about to publish.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DueJob {
    #[sqlx(try_from = "Uuid")]
    pub id: JobId,
    pub attempt: i32,
    pub modality: Modality,
    pub priority: Priority,
    /// The number of the poll message to publish (polls only).
    #[sqlx(default)]
    pub poll_seq: i32,
    /// The submit's trace context: the message carries it, so the run joins that trace.
    pub traceparent: Option<String>,
}

/// Locks up to `limit` queued jobs whose publish is due. Concurrent schedulers skip
/// each other's rows; the caller publishes, then `clear_publish` in the same
/// transaction.
pub async fn lock_due_for_publish(tx: &mut Transaction<'_, Postgres>, limit: i64) -> Result<Vec<DueJob>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, attempt, modality, priority, traceparent FROM jobs
         WHERE publish_at <= now() AND status = 'queued'
         ORDER BY publish_at LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

pub async fn clear_publish(tx: &mut Transaction<'_, Postgres>, ids: &[JobId]) -> Result<(), sqlx::Error> {
    let ids: Vec<Uuid> = ids.iter().map(|id| id.0).collect();
    sqlx::query("UPDATE jobs SET publish_at = NULL WHERE id = ANY($1)")
        .bind(&ids)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub struct Rescued {
    pub requeued: u64,
    pub failed: u64,
    /// Jobs whose worker died while polling their operation or copying their
    /// outputs; polled or copied again.
    pub repolled: u64,
}

/// Running jobs whose lease expired: their worker died or hung. They go back to
/// the queue (published by the next relay tick), or fail when out of attempts.
/// A job the provider already answered is never run again (that would bill a
/// second generation or submit a second render): its operation is polled, or
/// its outputs copied, again instead.
pub async fn rescue_expired(pool: &PgPool, limit: i64) -> Result<Rescued, sqlx::Error> {
    let repolled = sqlx::query(
        "UPDATE jobs SET lease_until = NULL, poll_at = now(), updated_at = now()
         WHERE id IN (SELECT id FROM jobs WHERE status = 'running' AND lease_until < now()
                          AND (operation IS NOT NULL OR answer IS NOT NULL)
                      ORDER BY lease_until LIMIT $1 FOR UPDATE SKIP LOCKED)",
    )
    .bind(limit)
    .execute(pool)
    .await?
    .rows_affected();
    let statuses: Vec<JobStatus> = sqlx::query_scalar(
        "WITH expired AS (
             SELECT id FROM jobs WHERE status = 'running' AND lease_until < now()
                 AND operation IS NULL AND answer IS NULL
             ORDER BY lease_until LIMIT $1 FOR UPDATE SKIP LOCKED)
         UPDATE jobs j SET
             status = CASE WHEN j.attempt - j.deferrals >= j.max_attempts THEN 'failed' ELSE 'queued' END,
             error = CASE WHEN j.attempt - j.deferrals >= j.max_attempts
                 THEN jsonb_build_object('code', 'worker_lost', 'retryable', false,
                      'message', 'the worker running this job stopped responding on every attempt')
                 ELSE j.error END,
             completed_at = CASE WHEN j.attempt - j.deferrals >= j.max_attempts THEN now() END,
             publish_at = CASE WHEN j.attempt - j.deferrals >= j.max_attempts THEN NULL ELSE now() END,
             run_at = now(), lease_until = NULL, updated_at = now()
         FROM expired WHERE j.id = expired.id
         RETURNING j.status",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let failed = statuses.iter().filter(|s| **s == JobStatus::Failed).count() as u64;
    Ok(Rescued {
        requeued: statuses.len() as u64 - failed,
        failed,
        repolled,
    })
}

/// Milliseconds between two instants, for metrics.
pub fn millis_between(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_milliseconds().max(0)
}
