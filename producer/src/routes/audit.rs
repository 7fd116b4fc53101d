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

use super::shapes::AuditPage;
use crate::{
    auth::ProjectAdmin,
    error::{ApiError, ApiErrorBody},
    state::AppState,
};

const MAX_PAGE: i64 = 200;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// One project (the operator; a key reads its own).
    #[param(value_type = Option<Uuid>)]
    project_id: Option<String>,
    /// One action (`api_key.create`, `budget.put`, …).
    action: Option<String>,
    /// A `next_cursor` this API answered.
    #[param(value_type = Option<Uuid>)]
    cursor: Option<String>,
    /// 1 to 200; default 50.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    limit: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/admin/audit",
    operation_id = "listAudit",
    tag = "audit",
    summary = "Read the audit log",
    description = "Admin changes, newest first: the operator reads every project's, an admin key its own project's.",
    params(
        AuditQuery
    ),
    responses(
        (status = 200, description = "A page of entries", body = AuditPage),
        (status = 403, description = "A key without the `admin` scope (`insufficient_scope`)", body = ApiErrorBody),
        (status = 404, description = "Another project than the key's", body = ApiErrorBody),
        (status = 422, description = "A bad `project_id`, `cursor` or `limit` (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
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
