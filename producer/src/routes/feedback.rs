//! Feedback on a job's output, by the job's project, and its summary per
//! model: the loop that tells which models and prompts serve users well.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    Json,
};
use electrons_domain::db::feedback::{self, FeedbackError, NewFeedback, SummaryFilter};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::shapes::FeedbackSummary;
use super::{
    jobs::parse_id,
    json_body::{self, JsonBody},
    time_range,
};
use crate::{
    auth::{Caller, ProjectAdmin},
    error::{ApiError, ApiErrorBody},
    state::AppState,
};
use electrons_domain::db::feedback::Feedback;

const MAX_COMMENT_CHARS: usize = 4000;
const MAX_TAGS: usize = 20;
const MAX_TAG_CHARS: usize = 50;
/// A summary with no `from` covers this many days back.
const DEFAULT_DAYS: i64 = 30;

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = FeedbackRequest)]
#[serde(deny_unknown_fields)]
struct FeedbackBody {
    /// 1 to 5.
    #[schema(minimum = 1, maximum = 5)]
    rating: i64,
    comment: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    /// 1 to 5.
    #[schema(minimum = 1, maximum = 5)]
    prompt_effectiveness: Option<i64>,
}

fn one_to_five(field: &str, value: i64) -> Result<i16, ApiError> {
    match value {
        1..=5 => Ok(value as i16),
        _ => Err(ApiError::invalid(field, "a whole number from 1 to 5")),
    }
}

fn validate(body: FeedbackBody) -> Result<NewFeedback, ApiError> {
    let rating = one_to_five("rating", body.rating)?;
    let prompt_effectiveness = body
        .prompt_effectiveness
        .map(|v| one_to_five("prompt_effectiveness", v))
        .transpose()?;
    if body
        .comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
    {
        return Err(ApiError::invalid(
            "comment",
            format!("at most {MAX_COMMENT_CHARS} characters"),
        ));
    }
    if body.tags.len() > MAX_TAGS {
        return Err(ApiError::invalid("tags", format!("at most {MAX_TAGS} tags")));
    }
    let mut tags = Vec::with_capacity(body.tags.len());
    for (i, tag) in body.tags.iter().enumerate() {
        let tag = tag.trim();
        if tag.is_empty() || tag.chars().count() > MAX_TAG_CHARS {
            return Err(ApiError::invalid(
                &format!("tags[{i}]"),
                format!("1 to {MAX_TAG_CHARS} characters"),
            ));
        }
        if !tags.iter().any(|t: &String| t == tag) {
            tags.push(tag.to_string());
        }
    }
    Ok(NewFeedback {
        rating,
        prompt_effectiveness,
        comment: body.comment.filter(|c| !c.trim().is_empty()),
        tags,
    })
}

/// `POST /v1/jobs/{id}/feedback`: `201` the first time, `200` when it replaces earlier feedback.
#[utoipa::path(
    post,
    path = "/v1/jobs/{id}/feedback",
    operation_id = "putFeedback",
    tag = "feedback",
    summary = "Rate a job's output",
    description = "Replaces earlier feedback on the job.",
    params(
        ("id" = String, Path, description = "The job's id (`job_…`)")
    ),
    request_body = FeedbackBody,
    responses(
        (status = 201, description = "Recorded", body = Feedback),
        (status = 200, description = "Replaced earlier feedback", body = Feedback),
        (status = 403, description = "The key lacks the scope this needs (`insufficient_scope`)", body = ApiErrorBody),
        (status = 404, description = "No such job in this project", body = ApiErrorBody),
        (status = 409, description = "The job has not finished (`job_not_finished`)", body = ApiErrorBody),
        (status = 422, description = "A rating out of 1 to 5, or a too long comment or tag (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let job = parse_id(&id)?;
    let feedback = validate(json_body::parse(&body)?)?;
    match feedback::put(&state.pool, caller.project_id, job.0, &feedback).await {
        Ok((saved, created)) => Ok((
            if created { StatusCode::CREATED } else { StatusCode::OK },
            Json(json!(saved)),
        )),
        Err(FeedbackError::NoJob) => Err(ApiError::not_found("job")),
        Err(FeedbackError::NotFinished(status)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "job_not_finished",
            format!("feedback is for finished jobs; this one is {status}"),
        )),
        Err(FeedbackError::Db(error)) => Err(error.into()),
    }
}

#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/feedback",
    operation_id = "getFeedback",
    tag = "feedback",
    summary = "Read a job's feedback",
    params(
        ("id" = String, Path, description = "The job's id (`job_…`)")
    ),
    responses(
        (status = 200, description = "The feedback", body = Feedback),
        (status = 403, description = "The key lacks the scope this needs (`insufficient_scope`)", body = ApiErrorBody),
        (status = 404, description = "No such job, or no feedback on it", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let job = parse_id(&id)?;
    let saved = feedback::get(&state.pool, caller.project_id, job.0)
        .await?
        .ok_or_else(|| ApiError::not_found("feedback"))?;
    Ok(Json(json!(saved)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// An RFC 3339 time or a date; default 30 days before `to`.
    from: Option<String>,
    /// An RFC 3339 time or a date (its end); default now.
    to: Option<String>,
    model: Option<String>,
    /// A prompt template's name.
    prompt_template: Option<String>,
    /// One project (the admin route only).
    #[param(value_type = Option<uuid::Uuid>)]
    project_id: Option<String>,
}

/// `GET /v1/feedback/summary?from=&to=&model=&prompt_template=`: the caller's
/// project, per model and prompt template.
#[utoipa::path(
    get,
    path = "/v1/feedback/summary",
    operation_id = "feedbackSummary",
    tag = "feedback",
    summary = "Summarise the project's feedback",
    description = "Per model and prompt template, over `[from, to)` (default the last 30 days).",
    params(
        SummaryQuery
    ),
    responses(
        (status = 200, description = "The summary", body = FeedbackSummary),
        (status = 403, description = "The key lacks the scope this needs (`insufficient_scope`)", body = ApiErrorBody),
        (status = 422, description = "A bad time, or `project_id`, which only the admin route takes (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<SummaryQuery>,
) -> Result<Json<Value>, ApiError> {
    if query.project_id.is_some() {
        return Err(ApiError::invalid(
            "project_id",
            "a project's key sees its own project only",
        ));
    }
    summarize(&state, Some(caller.project_id), query).await
}

/// `GET /v1/admin/feedback/summary?project_id=&…`: per project, model and prompt template, for the operator.
#[utoipa::path(
    get,
    path = "/v1/admin/feedback/summary",
    operation_id = "adminFeedbackSummary",
    tag = "feedback",
    summary = "Summarise feedback across projects",
    description = "Per project, model and prompt template, for the operator (or an admin key's own project).",
    params(
        SummaryQuery
    ),
    responses(
        (status = 200, description = "The summary", body = FeedbackSummary),
        (status = 403, description = "A key without the `admin` scope (`insufficient_scope`)", body = ApiErrorBody),
        (status = 404, description = "Another project than the key's", body = ApiErrorBody),
        (status = 422, description = "A bad time or `project_id` (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn admin_summary(
    State(state): State<AppState>,
    admin: ProjectAdmin,
    Query(query): Query<SummaryQuery>,
) -> Result<Json<Value>, ApiError> {
    let project = admin.project_named(query.project_id.as_deref())?;
    summarize(&state, project, query).await
}

async fn summarize(state: &AppState, project: Option<Uuid>, query: SummaryQuery) -> Result<Json<Value>, ApiError> {
    let (from, to) = time_range::parse(query.from.as_deref(), query.to.as_deref(), |to| {
        to - chrono::Duration::days(DEFAULT_DAYS)
    })?;
    let filter = SummaryFilter {
        project,
        model: query.model,
        prompt_template: query.prompt_template,
        from,
        to,
    };
    let rows = feedback::summary(&state.pool, &filter).await?;
    Ok(Json(json!({ "from": from, "to": to, "data": rows })))
}
