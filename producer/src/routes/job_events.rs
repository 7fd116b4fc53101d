//! `GET /v1/jobs/{id}/events`: a job's events as server-sent events, for any
//! job — `status` as it changes, a streaming job's text as `delta`s (each with
//! its `id`, so a client that reconnects with `Last-Event-ID` gets the pieces
//! after it, and only those), `restart` when a retried call writes the text
//! again, and `done` with the finished job, after which the stream ends.

use std::convert::Infallible;

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::sse::{Event, KeepAlive, Sse},
};
use electrons_domain::db;
use futures::Stream;
use serde_json::json;

use super::jobs::{parse_id, readable};
use crate::{
    auth::ProjectAdmin,
    error::{ApiError, ApiErrorBody},
    job_events::{self, JobEvent},
    state::AppState,
};

#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/events",
    operation_id = "followJob",
    tag = "jobs",
    summary = "Follow a job's events",
    description = "Server-sent events: `status` (`{status, attempt}`) whenever the job is queued or starts running; for a text job submitted with `\"stream\": true`, `delta` (`{text, attempt}`, with an `id`) for each piece of text as the provider writes it; `restart` (`{attempt}`) when a retried call writes the text again from its start; and `done` with the job as `GET /v1/jobs/{id}` reads it, after which the stream ends. The `delta`s' texts add up to the job's output. Reconnect with `Last-Event-ID` to get only the pieces after that one.",
    params(
        ("id" = String, Path, description = "The job's id (`job_…`)"),
        ("Last-Event-ID" = Option<i64>, Header, description = "The `id` of the last `delta` received")
    ),
    responses(
        (status = 200, description = "The job's events", content_type = "text/event-stream", body = String),
        (status = 400, description = "A `Last-Event-ID` this API did not send (`invalid_header`)", body = ApiErrorBody),
        (status = 403, description = "The key lacks the scope this needs (`insufficient_scope`)", body = ApiErrorBody),
        (status = 404, description = "No such job in this project", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn follow(
    State(state): State<AppState>,
    reader: ProjectAdmin,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let id = parse_id(&id)?;
    let after = last_event_id(&headers)?;
    readable(&state, &reader, id).await?;
    // Ids are counted across jobs: one of another job's would skip this one's text.
    if let Some(seq) = after {
        if db::stream_deltas::attempt_of(&state.pool, id.0, seq).await?.is_none() {
            return Err(refused_last_event_id());
        }
    }
    let events = job_events::follow(state, id, after);
    let stream = futures::stream::unfold(events, |mut events| async move {
        let event = events.recv().await?;
        Some((Ok(sse(event)), events))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| refused_last_event_id())?.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>().map(Some).map_err(|_| refused_last_event_id())
}

fn refused_last_event_id() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_header",
        "Last-Event-ID must be the id of a delta event this job's stream sent",
    )
    .with_field("Last-Event-ID")
}

fn sse(event: JobEvent) -> Event {
    match event {
        JobEvent::Status { status, attempt } => Event::default()
            .event("status")
            .data(json!({ "status": status.as_str(), "attempt": attempt }).to_string()),
        JobEvent::Delta(delta) => Event::default()
            .event("delta")
            .id(delta.seq.to_string())
            .data(json!({ "text": delta.text, "attempt": delta.attempt }).to_string()),
        JobEvent::Restarted { attempt } => Event::default()
            .event("restart")
            .data(json!({ "attempt": attempt }).to_string()),
        JobEvent::Finished(job) => Event::default()
            .event("done")
            .data(serde_json::to_string(&job).unwrap_or_else(|_| "{}".into())),
    }
}
