//! Reading and canceling jobs.

use axum::{
    extract::{Path, Query, State},
    Json,
};
use electrons_domain::{db, ids::JobId, job::JobStatus, prometheus};
use serde::Deserialize;
use serde_json::{json, Value};

use super::shapes::JobPage;
use crate::{
    auth::{Caller, ProjectAdmin},
    error::{ApiError, ApiErrorBody},
    state::AppState,
};
use electrons_domain::job_view::JobView;

const MAX_PAGE: i64 = 100;

pub(super) fn parse_id(id: &str) -> Result<JobId, ApiError> {
    id.parse().map_err(|_| ApiError::not_found("job"))
}

#[utoipa::path(
    get,
    path = "/v1/jobs/{id}",
    operation_id = "getJob",
    tag = "jobs",
    summary = "Read a job",
    params(
        ("id" = String, Path, description = "The job's id (`job_…`)")
    ),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 403, description = "The key lacks the scope this needs (`insufficient_scope`)", body = ApiErrorBody),
        (status = 404, description = "No such job in this project", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    reader: ProjectAdmin,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let job = readable(&state, &reader, parse_id(&id)?).await?;
    Ok(Json(view(&state, job).await))
}

/// The job `reader` may read: any project's for the operator, else one of
/// the key's project; not found otherwise.
pub(super) async fn readable(
    state: &AppState,
    reader: &ProjectAdmin,
    id: JobId,
) -> Result<electrons_domain::job::Job, ApiError> {
    let job = match reader.only_project() {
        Some(project) => db::jobs::get(&state.pool, project, id).await?,
        None => db::jobs::get_any(&state.pool, id).await?,
    };
    job.ok_or_else(|| ApiError::not_found("job"))
}

#[utoipa::path(
    post,
    path = "/v1/jobs/{id}/cancel",
    operation_id = "cancelJob",
    tag = "jobs",
    summary = "Cancel a job",
    description = "A queued or running job ends `canceled`; a finished one is answered as it is.",
    params(
        ("id" = String, Path, description = "The job's id (`job_…`)")
    ),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 403, description = "The key lacks the scope this needs (`insufficient_scope`)", body = ApiErrorBody),
        (status = 404, description = "No such job in this project", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[param(value_type = Option<JobStatus>)]
    status: Option<String>,
    model: Option<String>,
    /// A `next_cursor` this API answered.
    cursor: Option<String>,
    /// 1 to 100; default 20.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// Jobs submitted at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    created_after: Option<String>,
    /// Jobs submitted before this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    created_before: Option<String>,
    /// A JSON object, such as `{"customer":"acme"}`: jobs whose metadata holds all its keys and values.
    metadata: Option<String>,
    /// With the operator's token: one project's jobs (without it, every
    /// project's, each with its `project_id`). A key reads its own project only.
    project_id: Option<String>,
}

fn moment(field: &'static str, value: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    value
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(v)
                .map(|at| at.to_utc())
                .map_err(|_| ApiError::invalid(field, "an RFC 3339 time such as 2026-12-03T10:00:00Z"))
        })
        .transpose()
}

/// `GET /v1/jobs?status=&model=&created_after=&created_before=&metadata=&limit=&cursor=`,
/// newest first; `next_cursor` continues where the page ended.
#[utoipa::path(
    get,
    path = "/v1/jobs",
    operation_id = "listJobs",
    tag = "jobs",
    summary = "List the project's jobs",
    description = "Newest first; `next_cursor` continues where the page ended. The operator's token lists every project's jobs (each with its `project_id`), or one project's with `project_id`.",
    params(
        ListQuery
    ),
    responses(
        (status = 200, description = "A page of jobs", body = JobPage),
        (status = 403, description = "The key lacks the scope this needs (`insufficient_scope`)", body = ApiErrorBody),
        (status = 422, description = "A bad `status`, `cursor`, `limit`, `created_after`, `created_before` or `metadata` (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    reader: ProjectAdmin,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let project = reader.project_named(query.project_id.as_deref())?;
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
    let metadata = query
        .metadata
        .as_deref()
        .map(|m| match serde_json::from_str::<Value>(m) {
            Ok(object @ Value::Object(_)) => Ok(object),
            _ => Err(ApiError::invalid(
                "metadata",
                r#"a JSON object of the metadata to match, such as {"customer":"acme"}"#,
            )),
        })
        .transpose()?;
    let filter = db::jobs::ListFilter {
        status,
        model: query.model,
        before,
        created_after: moment("created_after", query.created_after.as_deref())?,
        created_before: moment("created_before", query.created_before.as_deref())?,
        metadata,
        limit: limit + 1,
    };
    let mut jobs = db::jobs::list(&state.pool, project, &filter).await?;
    let has_more = jobs.len() as i64 > limit;
    jobs.truncate(limit as usize);
    let next_cursor = if has_more {
        jobs.last().map(|j| j.id.to_string())
    } else {
        None
    };
    let across_projects = reader.only_project().is_none();
    let mut data: Vec<Value> = Vec::with_capacity(jobs.len());
    for job in jobs {
        let project_id = job.project_id;
        let mut item = json!(view(&state, job).await);
        // The operator's list spans projects: say whose each job is.
        if across_projects {
            item["project_id"] = json!(project_id);
        }
        data.push(item);
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
