//! `GET /v1/usage?from=&to=&project_id=&format=json|csv`: what the jobs
//! submitted in a period used and cost, per day (UTC), project and model. A
//! key reads its own project's; the operator every project's, or one. CSV is
//! chosen by `format=csv` or `Accept: text/csv`.

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use electrons_domain::db::usage::{self, UsageRow, UNITS};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::shapes::UsageReport;
use super::time_range;
use crate::{
    auth::ProjectAdmin,
    error::{ApiError, ApiErrorBody},
    state::AppState,
};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// An RFC 3339 time or a date; default the start of `to`'s month.
    from: Option<String>,
    /// An RFC 3339 time or a date (its end); default now.
    to: Option<String>,
    /// One project (the operator; a key reads its own).
    #[param(value_type = Option<uuid::Uuid>)]
    project_id: Option<String>,
    /// `json` or `csv`; default by `Accept`.
    format: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/usage",
    operation_id = "usageReport",
    tag = "usage",
    summary = "Report usage and cost",
    description = "Per day (UTC), project and model over `[from, to)` (default this month). A key reads its own project's, the operator every project's or one. CSV with `format=csv` or `Accept: text/csv`.",
    params(
        UsageQuery
    ),
    responses(
        (status = 200, description = "The report", content((UsageReport = "application/json"), (String = "text/csv"))),
        (status = 403, description = "The key lacks the scope this needs (`insufficient_scope`)", body = ApiErrorBody),
        (status = 404, description = "Another project than the key's", body = ApiErrorBody),
        (status = 422, description = "A bad time, `project_id` or `format` (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn report(
    State(state): State<AppState>,
    caller: ProjectAdmin,
    headers: HeaderMap,
    Query(query): Query<UsageQuery>,
) -> Result<Response, ApiError> {
    let project = caller.project_named(query.project_id.as_deref())?;
    let csv = match query.format.as_deref() {
        Some("csv") => true,
        Some("json") => false,
        Some(_) => return Err(ApiError::invalid("format", "json or csv")),
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/csv")),
    };
    let (from, to) = time_range::parse(query.from.as_deref(), query.to.as_deref(), start_of_month)?;
    let rows = usage::by_day(&state.pool, project, from, to).await?;
    if csv {
        return as_csv(&rows);
    }
    let data: Vec<Value> = rows.iter().map(row_json).collect();
    let total_cost: f64 = rows.iter().map(|r| r.cost_usd).sum();
    let total_jobs: i64 = rows.iter().map(|r| r.jobs).sum();
    Ok(Json(json!({
        "from": from,
        "to": to,
        "data": data,
        "total": { "jobs": total_jobs, "cost_usd": total_cost },
    }))
    .into_response())
}

/// The calendar month (UTC) `to` falls in, from its first day.
fn start_of_month(to: DateTime<Utc>) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(to.year(), to.month(), 1)
        .unwrap_or(to.date_naive())
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
}

fn row_json(row: &UsageRow) -> Value {
    let units: Map<String, Value> = UNITS
        .iter()
        .zip(row.units())
        .filter(|(_, amount)| *amount != 0.0)
        .map(|(name, amount)| (name.to_string(), json!(amount)))
        .collect();
    json!({
        "day": row.day,
        "project_id": row.project_id,
        "model": row.model,
        "modality": row.modality,
        "jobs": row.jobs,
        "succeeded": row.succeeded,
        "failed": row.failed,
        "billed_calls": row.billed_calls,
        "usage": units,
        "cost_usd": row.cost_usd,
    })
}

fn as_csv(rows: &[UsageRow]) -> Result<Response, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "day",
        "project_id",
        "model",
        "modality",
        "jobs",
        "succeeded",
        "failed",
        "billed_calls",
    ];
    header.extend(UNITS);
    header.push("cost_usd");
    writer.write_record(&header).map_err(ApiError::internal)?;
    for row in rows {
        let mut record = vec![
            row.day.to_string(),
            row.project_id.to_string(),
            row.model.clone(),
            row.modality.clone(),
            row.jobs.to_string(),
            row.succeeded.to_string(),
            row.failed.to_string(),
            row.billed_calls.to_string(),
        ];
        record.extend(row.units().iter().map(f64::to_string));
        record.push(row.cost_usd.to_string());
        writer.write_record(&record).map_err(ApiError::internal)?;
    }
    let body = writer.into_inner().map_err(ApiError::internal)?;
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    Ok(response)
}
