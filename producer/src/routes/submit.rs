//! `POST /v1/jobs`: validate, commit, answer, publish.

use std::time::Duration;

use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use electrons_domain::{
    db::{self, jobs::Inserted},
    ids::JobId,
    job::Job,
    prometheus,
    queue::JobMessage,
    trace_context,
};
use tokio::sync::broadcast;
use tracing::Instrument;
use uuid::Uuid;

use super::{
    json_body::JsonBody,
    submission::{self, Submission},
};
use crate::{
    auth::Caller,
    error::{ApiError, ApiErrorBody},
    state::AppState,
};
use electrons_domain::job_view::JobView;

/// How often a waiting request re-reads its job in case a notification was lost.
const WAIT_POLL: Duration = Duration::from_secs(1);

#[utoipa::path(
    post,
    path = "/v1/jobs",
    operation_id = "submitJob",
    tag = "jobs",
    summary = "Submit a job",
    description = "Validates the request, commits the job and answers; a worker then runs it. A repeated `Idempotency-Key` with the same body answers the first job again; `Prefer: wait=N` holds the answer up to N seconds for the job to finish.",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 printable ASCII characters: a retry with the same key and body answers the same job"),
        ("Prefer" = Option<String>, Header, description = "`wait=N`: answer when the job has finished, or after N seconds (at most the deployment's maximum)")
    ),
    request_body = super::submission::SubmitRequest,
    responses(
        (status = 202, description = "Accepted and queued", body = JobView, headers(("Location" = String, description = "The job's URL"))),
        (status = 201, description = "Finished within `Prefer: wait`", body = JobView),
        (status = 200, description = "The job an earlier submit with this `Idempotency-Key` made (`Idempotent-Replayed: true`)", body = JobView),
        (status = 400, description = "Not a JSON object (`invalid_json`), a bad header (`invalid_header`) or webhook (`invalid_webhook`)", body = ApiErrorBody),
        (status = 402, description = "Over the project's or the instance's monthly budget (`budget_exceeded`), or a model without pricing under a budget (`model_unpriced`)", body = ApiErrorBody),
        (status = 403, description = "The key lacks the scope this needs (`insufficient_scope`)", body = ApiErrorBody),
        (status = 409, description = "The `Idempotency-Key` was used with another body (`idempotency_key_reused`)", body = ApiErrorBody),
        (status = 422, description = "A field is missing or invalid, or the model unknown (`missing_field`, `invalid_field`, `unknown_model`, …)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let idempotency_key = submission::idempotency_key(&headers)?;
    let wait = submission::prefer_wait(&headers)?.map(|s| Duration::from_secs(s).min(state.settings.producer.max_wait));
    let catalog = state.catalog.get().await;
    let submission = submission::parse(&body, &catalog)?;
    if let Some(webhook) = &submission.webhook {
        submission::check_webhook_destination(&state.webhook_guard, webhook).await?;
    }

    let id = JobId::new();
    let trace_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| Uuid::new_v4().simple().to_string());
    let span = tracing::info_span!("submit", job_id = %id, trace_id = %trace_id, model = %submission.model);

    let budget_reserve_usd = reservation(&state, caller.project_id, &submission).await?;
    let deprecated_at = submission.deprecated_at;
    let models_url = format!("{}/v1/models", state.settings.producer.public_url.trim_end_matches('/'));
    let response = async move {
        // Subscribe before the commit so a fast job's notification cannot slip by.
        let finished = wait.map(|_| state.finished.subscribe());
        // Inside the submit span: the worker's spans, and every later step's, join its trace.
        let traceparent = trace_context::current();
        // A streaming job is followed (`GET /v1/jobs/{id}/events`) to its end.
        let streams = submission.input["stream"] == true;
        let new = db::jobs::NewJob {
            id,
            project_id: caller.project_id,
            model: submission.model,
            modality: submission.modality,
            provider: submission.provider,
            priority: submission.priority,
            input: submission.input,
            metadata: submission.metadata,
            webhook: submission.webhook,
            webhook_events_filter: submission.webhook_events_filter,
            max_attempts: state.settings.jobs.max_attempts,
            idempotency_key,
            request_hash: submission.request_hash,
            notify_on_finish: wait.is_some() || streams,
            relay_after: state.settings.scheduler.relay_grace,
            budget_reserve_usd,
            traceparent: traceparent.clone(),
            fallbacks: submission.fallbacks,
            webhook_format: submission.webhook_format,
        };
        let job = match insert(&state, new).await? {
            Inserted::Created(job) => job,
            Inserted::Existing(job) => {
                let mut response = respond(&state, StatusCode::OK, job).await;
                response
                    .headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
                return Ok(response);
            }
            Inserted::OverBudget => return Err(ApiError::internal("an over-budget job reached the response")),
            Inserted::KeyConflict => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "idempotency_key_reused",
                    "this Idempotency-Key was already used with a different request body",
                )
                .with_field("Idempotency-Key"))
            }
        };
        tracing::debug!("job accepted");
        prometheus::jobs::submitted(&job.model, job.modality, 1);
        state.dispatcher.dispatch(
            JobMessage {
                job_id: job.id,
                attempt: job.attempt,
                trace_id: Some(trace_id),
                traceparent,
                poll: false,
                poll_seq: 0,
            },
            job.modality,
            job.priority,
        );
        match (wait, finished) {
            (Some(wait), Some(finished)) => {
                let job = wait_for_terminal(&state, job, finished, wait).await?;
                let status = if job.status.is_terminal() {
                    StatusCode::CREATED
                } else {
                    StatusCode::ACCEPTED
                };
                let mut response = respond(&state, status, job).await;
                if let Ok(applied) = HeaderValue::from_str(&format!("wait={}", wait.as_secs())) {
                    response.headers_mut().insert("preference-applied", applied);
                }
                Ok(response)
            }
            _ => Ok(respond(&state, StatusCode::ACCEPTED, job).await),
        }
    }
    .instrument(span)
    .await?;
    Ok(match deprecated_at {
        Some(at) => with_deprecation(response, at, &models_url),
        None => response,
    })
}

/// RFC 9745: `Deprecation: @<unix time>` (since when), with a `Link` to
/// where the models, and their replacements, are listed.
fn with_deprecation(mut response: Response, at: DateTime<Utc>, models_url: &str) -> Response {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("@{}", at.timestamp())) {
        headers.insert("deprecation", value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!(
        "<{models_url}>; rel=\"deprecation\"; type=\"application/json\""
    )) {
        headers.append("link", value);
    }
    response
}

/// What the job must reserve from its project's budget: nothing without one;
/// its worst-case cost with one; and a model without a price cannot run under
/// a budget (whatever it spent could not be kept within it).
async fn reservation(state: &AppState, project: Uuid, submission: &Submission) -> Result<Option<f64>, ApiError> {
    if !state.budgets.may_have_budget(project) {
        return Ok(None);
    }
    match submission.worst_case_usd {
        Some(cost) => Ok(Some(cost)),
        // Rare (an unpriced model, or the budget cache not trusted): ask.
        None if db::budgets::get(&state.pool, project).await?.is_some()
            || db::instance_budgets::of_project(&state.pool, project).await?.is_some() =>
        {
            Err(ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            "model_unpriced",
            format!(
                "model {:?} has no pricing, so its cost cannot be kept within this project's budget; give the model a pricing or remove the budget",
                submission.model
            ),
        )
        .with_field("model"))
        }
        None => Ok(None),
    }
}

/// Jobs are inserted in batches, budgeted ones too. A budgeted job with an
/// idempotency key is inserted on its own: it reserves only if it is really
/// inserted (not a replay), after the insert, and is refused by failing its
/// statement, which would fail a whole batch.
async fn insert(state: &AppState, job: db::jobs::NewJob) -> Result<Inserted, ApiError> {
    let project = job.project_id;
    let required = job.budget_reserve_usd;
    let inserted = if required.is_some() && job.idempotency_key.is_some() {
        let mut inserted = db::jobs::insert_many(&state.pool, std::slice::from_ref(&job)).await?;
        inserted
            .pop()
            .ok_or_else(|| ApiError::internal("an insert gave no outcome"))?
    } else {
        state.inserts.insert(job).await?
    };
    if let (Inserted::OverBudget, Some(required)) = (&inserted, required) {
        // Only refusals read the budget again, for the amounts they show.
        let exceeded = db::budgets::Exceeded::explain(&state.pool, project, required).await?;
        return Err(ApiError::budget_exceeded(&exceeded));
    }
    Ok(inserted)
}

async fn respond(state: &AppState, status: StatusCode, job: Job) -> Response {
    let location = job_url(state, job.id);
    let mut response = (status, Json(super::jobs::view(state, job).await)).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert("location", location);
    }
    response
}

fn job_url(state: &AppState, id: JobId) -> String {
    format!(
        "{}/v1/jobs/{id}",
        state.settings.producer.public_url.trim_end_matches('/')
    )
}

async fn wait_for_terminal(
    state: &AppState,
    job: Job,
    mut finished: broadcast::Receiver<Uuid>,
    wait: Duration,
) -> Result<Job, ApiError> {
    let deadline = tokio::time::Instant::now() + wait;
    let id = job.id;
    loop {
        let woke =
            tokio::time::timeout_at(deadline.min(tokio::time::Instant::now() + WAIT_POLL), finished.recv()).await;
        let timed_out = tokio::time::Instant::now() >= deadline;
        let should_read = match woke {
            Ok(Ok(finished_id)) => finished_id == id.0,
            // Lagged: we may have missed ours; the listener closed: fall back to polling.
            Ok(Err(_)) => true,
            Err(_) => true,
        };
        if should_read || timed_out {
            if let Some(current) = db::jobs::get_any(&state.pool, id).await? {
                if current.status.is_terminal() || timed_out {
                    return Ok(current);
                }
            } else if timed_out {
                return Ok(job);
            }
        }
        if let Ok(Err(broadcast::error::RecvError::Closed)) = woke {
            tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + WAIT_POLL)).await;
        }
    }
}
