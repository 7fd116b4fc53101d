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

use super::{
    jobs::parse_id,
    json_body::{self, JsonBody},
    time_range,
};
use crate::{
    auth::{Caller, ProjectAdmin},
    error::ApiError,
    state::AppState,
};

const MAX_COMMENT_CHARS: usize = 4000;
const MAX_TAGS: usize = 20;
const MAX_TAG_CHARS: usize = 50;
/// A summary with no `from` covers this many days back.
const DEFAULT_DAYS: i64 = 30;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedbackBody {
    rating: i64,
    comment: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
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

#[derive(Deserialize)]
pub struct SummaryQuery {
    from: Option<String>,
    to: Option<String>,
    model: Option<String>,
    prompt_template: Option<String>,
    project_id: Option<String>,
}

/// `GET /v1/feedback/summary?from=&to=&model=&prompt_template=`: the caller's
/// project, per model and prompt template.
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
