//! `/v1/admin/organizations[/{id}]` and `/v1/admin/instances[/{id}]` (the
//! operator): the tenancy above projects. An organization holds instances; an
//! instance holds projects and its own provider keys. Neither is removed while
//! it holds anything (`409 not_empty`). Every change is audited.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    Json,
};
use electrons_domain::db::tenants;
use serde::Deserialize;
use serde_json::{json, Value};

use super::json_body::{self, JsonBody};
use crate::{auth::Operator, error::ApiError, state::AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrganizationRequest {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstanceRequest {
    organization: String,
    name: String,
}

#[derive(Deserialize)]
pub struct InstancesQuery {
    organization: Option<String>,
}

pub async fn organizations(State(state): State<AppState>, _operator: Operator) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "data": tenants::organizations(&state.pool).await? })))
}

pub async fn organization(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let organization = tenants::organization(&state.pool, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    Ok(Json(json!(organization)))
}

pub async fn put_organization(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    super::admin_ids::check(&id)?;
    let request: OrganizationRequest = json_body::parse(&body)?;
    let name = checked_name(&request.name)?;
    let mut tx = state.pool.begin().await?;
    let before = tenants::organization(&mut *tx, &id).await?;
    tenants::put_organization(&mut *tx, &id, name).await?;
    let after = tenants::organization(&mut *tx, &id).await?;
    super::operator_audit::record(&mut tx, "organization.put", &id, before, after.clone()).await?;
    tx.commit().await?;
    Ok(Json(json!(after)))
}

pub async fn delete_organization(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut tx = state.pool.begin().await?;
    let before = tenants::organization(&mut *tx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    tenants::delete_organization(&mut *tx, &id)
        .await
        .map_err(|error| still_holds(error, "the organization still has instances; remove or move them first"))?;
    super::operator_audit::record(&mut tx, "organization.delete", &id, Some(before), None).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn instances(
    State(state): State<AppState>,
    _operator: Operator,
    Query(query): Query<InstancesQuery>,
) -> Result<Json<Value>, ApiError> {
    let instances = tenants::instances(&state.pool, query.organization.as_deref()).await?;
    Ok(Json(json!({ "data": instances })))
}

pub async fn instance(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let instance = tenants::instance(&state.pool, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("instance"))?;
    Ok(Json(json!(instance)))
}

pub async fn put_instance(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    super::admin_ids::check(&id)?;
    let request: InstanceRequest = json_body::parse(&body)?;
    let name = checked_name(&request.name)?;
    let mut tx = state.pool.begin().await?;
    if tenants::organization(&mut *tx, &request.organization).await?.is_none() {
        return Err(ApiError::invalid(
            "organization",
            format!("no organization `{}`", request.organization),
        ));
    }
    let before = tenants::instance(&mut *tx, &id).await?;
    tenants::put_instance(&mut *tx, &id, &request.organization, name).await?;
    let after = tenants::instance(&mut *tx, &id).await?;
    super::operator_audit::record(&mut tx, "instance.put", &id, before, after.clone()).await?;
    tx.commit().await?;
    Ok(Json(json!(after)))
}

pub async fn delete_instance(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut tx = state.pool.begin().await?;
    let before = tenants::instance(&mut *tx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("instance"))?;
    tenants::delete_instance(&mut *tx, &id)
        .await
        .map_err(|error| still_holds(error, "the instance still has projects; move them first"))?;
    super::operator_audit::record(&mut tx, "instance.delete", &id, Some(before), None).await?;
    tx.commit().await?;
    state.catalog.reload(&state.pool).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A display name: not blank, at most 200 characters.
pub(super) fn checked_name(name: &str) -> Result<&str, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid("name", "1 to 200 characters"));
    }
    Ok(name)
}

/// A delete refused by a foreign key: the row still holds others.
fn still_holds(error: sqlx::Error, message: &'static str) -> ApiError {
    if super::admin_providers::is_in_use(&error) {
        ApiError::new(StatusCode::CONFLICT, "not_empty", message)
    } else {
        error.into()
    }
}
