//! `GET /v1/admin/audit`: the trail of admin changes, newest first. The
//! operator reads every project's; an admin key its own project's.

use axum::{
    extract::{Query, State},
    Json,
};
use electrons_domain::db::audit::{self, AuditFilter};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{auth::ProjectAdmin, error::ApiError, state::AppState};

const MAX_PAGE: i64 = 200;

#[derive(Deserialize)]
pub struct AuditQuery {
    project_id: Option<String>,
    action: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    admin: ProjectAdmin,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    let uuid = |field: &str, value: Option<&str>| match value {
        Some(v) => v
            .parse::<Uuid>()
            .map(Some)
            .map_err(|_| ApiError::invalid(field, "not an id")),
        None => Ok(None),
    };
    let project = admin.project_named(query.project_id.as_deref())?;
    let limit = match query.limit.as_deref() {
        Some(limit) => limit
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| ApiError::invalid("limit", format!("1 to {MAX_PAGE}")))?,
        None => 50,
    };
    let filter = AuditFilter {
        project,
        action: query.action,
        before: uuid("cursor", query.cursor.as_deref())?,
        limit,
    };
    let entries = audit::list(&state.pool, &filter).await?;
    let next_cursor = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(Json(json!({ "data": entries, "next_cursor": next_cursor })))
}
