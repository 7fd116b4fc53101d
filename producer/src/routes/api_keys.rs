//! The admin API over API keys: create one (shown once, in this answer only),
//! list, read and revoke. The operator manages any project's keys; a key with
//! the `admin` scope manages its own project's, and every other project's key
//! is, to it, not there (404, so ids do not leak).

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    Json,
};
use chrono::{DateTime, Utc};
use electrons_domain::{
    auth::{key_format::KeyEnvironment, Scope},
    db::{
        api_keys::{self, NewKey},
        audit,
    },
};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::json_body::{self, JsonBody};
use super::shapes::{CreatedKey, Data};
use crate::{
    auth::ProjectAdmin,
    error::{ApiError, ApiErrorBody},
    state::AppState,
};
use electrons_domain::db::api_keys::KeyRecord;

const MAX_NAME_CHARS: usize = 200;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateKey {
    /// Required from the operator; a project admin's key makes keys for its own project.
    project_id: Option<Uuid>,
    #[serde(default)]
    name: String,
    /// Default `jobs:read` and `jobs:write`.
    scopes: Option<Vec<Scope>>,
    /// Default `live`.
    environment: Option<KeyEnvironment>,
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// One project (the operator; a key lists its own). Text, parsed here, so a bad one gets the API's JSON error.
    #[param(value_type = Option<Uuid>)]
    project_id: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/admin/keys",
    operation_id = "createKey",
    tag = "keys",
    summary = "Create an API key",
    description = "The key is in this answer only. The operator names the project; an admin key makes keys for its own.",
    request_body = CreateKey,
    responses(
        (status = 201, description = "Created", body = CreatedKey),
        (status = 403, description = "A key without the `admin` scope (`insufficient_scope`)", body = ApiErrorBody),
        (status = 404, description = "No such project (or another than the key's)", body = ApiErrorBody),
        (status = 422, description = "A bad name, scope or expiry, or no project named (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    admin: ProjectAdmin,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request: CreateKey = json_body::parse(&body)?;
    let project_id = match (admin.only_project(), request.project_id) {
        (Some(own), None) => own,
        (Some(own), Some(named)) if named == own => own,
        (Some(_), Some(_)) => return Err(ApiError::not_found("project")),
        (None, Some(named)) => named,
        (None, None) => return Err(ApiError::invalid("project_id", "name the project the key acts for")),
    };
    make(&state, &admin.actor(), project_id, request, &Scope::ALL).await
}

/// Makes a key for `project_id` with at most the scopes in `allowed`; the
/// answer carries the key, this once.
pub(super) async fn make(
    state: &AppState,
    actor: &str,
    project_id: Uuid,
    request: CreateKey,
    allowed: &[Scope],
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if request.project_id.is_some_and(|named| named != project_id) {
        return Err(ApiError::not_found("project"));
    }
    if request.name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::invalid(
            "name",
            format!("at most {MAX_NAME_CHARS} characters"),
        ));
    }
    let mut scopes = request.scopes.unwrap_or_else(|| Scope::DEFAULT.to_vec());
    scopes.sort_by_key(|s| Scope::ALL.iter().position(|a| a == s));
    scopes.dedup();
    if scopes.is_empty() {
        return Err(ApiError::invalid("scopes", "a key needs at least one scope"));
    }
    if let Some(beyond) = scopes.iter().find(|scope| !allowed.contains(scope)) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_role",
            format!("your role may not make keys with the `{}` scope", beyond.as_str()),
        )
        .with_field("scopes"));
    }
    if request.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(ApiError::invalid("expires_at", "must be in the future"));
    }
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM projects WHERE id = $1)")
        .bind(project_id)
        .fetch_one(&state.pool)
        .await?;
    if !exists {
        return Err(ApiError::not_found("project"));
    }
    let mut tx = state.pool.begin().await?;
    let (record, key) = api_keys::create(
        &mut *tx,
        NewKey {
            project_id,
            name: request.name,
            environment: request.environment.unwrap_or(KeyEnvironment::Live),
            scopes,
            expires_at: request.expires_at,
        },
    )
    .await?;
    audit::record(
        &mut *tx,
        audit::Entry {
            actor,
            action: "api_key.create",
            target: format!("api_key:{}", record.id),
            project_id: Some(record.project_id),
            before: None,
            after: Some(json!(record)),
        },
    )
    .await?;
    tx.commit().await?;
    let mut answer = json!(record);
    // The only time the key is ever shown.
    answer["key"] = json!(key.expose());
    Ok((StatusCode::CREATED, Json(answer)))
}

#[utoipa::path(
    get,
    path = "/v1/admin/keys",
    operation_id = "listKeys",
    tag = "keys",
    summary = "List API keys",
    params(
        ListQuery
    ),
    responses(
        (status = 200, description = "The keys, never the keys themselves", body = Data<KeyRecord>),
        (status = 403, description = "A key without the `admin` scope (`insufficient_scope`)", body = ApiErrorBody),
        (status = 404, description = "Another project than the key's", body = ApiErrorBody),
        (status = 422, description = "A bad `project_id` (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    admin: ProjectAdmin,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let project = admin.project_named(query.project_id.as_deref())?;
    let keys = api_keys::list(&state.pool, project).await?;
    Ok(Json(json!({ "data": keys })))
}

#[utoipa::path(
    get,
    path = "/v1/admin/keys/{id}",
    operation_id = "getKey",
    tag = "keys",
    summary = "Read an API key",
    params(
        ("id" = String, Path, description = "The key's id")
    ),
    responses(
        (status = 200, description = "The key", body = KeyRecord),
        (status = 403, description = "A key without the `admin` scope (`insufficient_scope`)", body = ApiErrorBody),
        (status = 404, description = "No such key", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    admin: ProjectAdmin,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = key_id(&id)?;
    let key = api_keys::get(&state.pool, id, admin.only_project())
        .await?
        .ok_or_else(|| ApiError::not_found("API key"))?;
    Ok(Json(json!(key)))
}

/// Revokes the key; every producer refuses it from the moment PostgreSQL
/// tells them (well within a second).
#[utoipa::path(
    delete,
    path = "/v1/admin/keys/{id}",
    operation_id = "revokeKey",
    tag = "keys",
    summary = "Revoke an API key",
    description = "Every producer refuses it within a second.",
    params(
        ("id" = String, Path, description = "The key's id")
    ),
    responses(
        (status = 200, description = "The key, revoked", body = KeyRecord),
        (status = 403, description = "A key without the `admin` scope (`insufficient_scope`)", body = ApiErrorBody),
        (status = 404, description = "No such key", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    admin: ProjectAdmin,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = key_id(&id)?;
    let mut tx = state.pool.begin().await?;
    let before = api_keys::get(&mut *tx, id, admin.only_project())
        .await?
        .ok_or_else(|| ApiError::not_found("API key"))?;
    let key = api_keys::revoke(&mut *tx, id, admin.only_project())
        .await?
        .ok_or_else(|| ApiError::not_found("API key"))?;
    if before.revoked_at.is_none() {
        audit::record(
            &mut *tx,
            audit::Entry {
                actor: &admin.actor(),
                action: "api_key.revoke",
                target: format!("api_key:{id}"),
                project_id: Some(key.project_id),
                before: Some(json!(before)),
                after: Some(json!(key)),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Json(json!(key)))
}

/// An id that is not a UUID names no key: 404, as for any unknown key.
fn key_id(id: &str) -> Result<Uuid, ApiError> {
    id.parse().map_err(|_| ApiError::not_found("API key"))
}
