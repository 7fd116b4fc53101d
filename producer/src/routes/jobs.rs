//! Reading and canceling jobs.

use axum::{
    extract::{Path, Query, State},
    Json,
};
use electrons_domain::{db, ids::JobId, job::JobStatus, prometheus};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{auth::Caller, error::ApiError, state::AppState};
use electrons_domain::job_view::JobView;

const MAX_PAGE: i64 = 100;

pub(super) fn parse_id(id: &str) -> Result<JobId, ApiError> {
    id.parse().map_err(|_| ApiError::not_found("job"))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let job = db::jobs::get(&state.pool, caller.project_id, parse_id(&id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    Ok(Json(view(&state, job).await))
}

pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let (job, canceled_now) = db::jobs::cancel(&state.pool, caller.project_id, parse_id(&id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("job"))?;
    if canceled_now {
        prometheus::jobs::finished(&job.model, job.status, job.created_at);
        state.announcer.job_changed(&job);
    }
    Ok(Json(view(&state, job).await))
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    model: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// `GET /v1/jobs?status=&model=&limit=&cursor=`, newest first; `next_cursor`
/// continues where the page ended.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(|s| {
            s.parse::<JobStatus>()
                .map_err(|e| ApiError::invalid("status", format!("status {e}")))
        })
        .transpose()?;
    let before = query
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<JobId>()
                .map_err(|_| ApiError::invalid("cursor", "not a cursor returned by this API"))
        })
        .transpose()?;
    let limit = match query.limit.as_deref() {
        None => 20,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| ApiError::invalid("limit", format!("limit must be an integer from 1 to {MAX_PAGE}")))?,
    };
    let filter = db::jobs::ListFilter {
        status,
        model: query.model,
        before,
        limit: limit + 1,
    };
    let mut jobs = db::jobs::list(&state.pool, caller.project_id, &filter).await?;
    let has_more = jobs.len() as i64 > limit;
    jobs.truncate(limit as usize);
    let next_cursor = if has_more {
        jobs.last().map(|j| j.id.to_string())
    } else {
        None
    };
    let mut data: Vec<JobView> = Vec::with_capacity(jobs.len());
    for job in jobs {
        data.push(view(&state, job).await);
    }
    Ok(Json(
        json!({ "data": data, "has_more": has_more, "next_cursor": next_cursor }),
    ))
}

/// The job as clients see it, with fresh links to its files.
pub async fn view(state: &AppState, job: electrons_domain::job::Job) -> JobView {
    JobView::new(job, &state.settings.producer.public_url)
        .with_links(&state.store, state.settings.storage.url_ttl)
        .await
}
