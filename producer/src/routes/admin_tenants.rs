//! `/v1/admin/organizations[/{id}]` and `/v1/admin/instances[/{id}]`: the
//! tenancy above projects. An organization holds instances; an instance holds
//! projects and its own provider keys. Organizations, and making an instance,
//! are the operator's; a user reads the instances they have a role in, an
//! admin renames one, an owner removes it. Neither is removed while it holds
//! anything (`409 not_empty`). Every change is audited.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    Json,
};
use electrons_domain::{
    auth::Role,
    db::{tenants, users},
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::json_body::{self, JsonBody};
use super::shapes::Data;
use crate::{
    auth::{Actor, Operator},
    error::{ApiError, ApiErrorBody},
    state::AppState,
};
use electrons_domain::db::tenants::{Instance, Organization};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct OrganizationRequest {
    name: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct InstanceRequest {
    /// The organization it belongs to (changing it moves the instance: the operator's).
    organization: String,
    name: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InstancesQuery {
    /// One organization's.
    organization: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/admin/organizations",
    operation_id = "listOrganizations",
    tag = "admin-tenants",
    summary = "List organizations",
    responses(
        (status = 200, description = "The organizations", body = Data<Organization>),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn organizations(State(state): State<AppState>, _operator: Operator) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "data": tenants::organizations(&state.pool).await? })))
}

#[utoipa::path(
    get,
    path = "/v1/admin/organizations/{id}",
    operation_id = "getOrganization",
    tag = "admin-tenants",
    summary = "Read an organization",
    params(
        ("id" = String, Path, description = "The organization's id")
    ),
    responses(
        (status = 200, description = "The organization", body = Organization),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody),
        (status = 404, description = "No such organization", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
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

#[utoipa::path(
    put,
    path = "/v1/admin/organizations/{id}",
    operation_id = "putOrganization",
    tag = "admin-tenants",
    summary = "Add or rename an organization",
    params(
        ("id" = String, Path, description = "The organization's id")
    ),
    request_body = OrganizationRequest,
    responses(
        (status = 200, description = "The organization", body = Organization),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody),
        (status = 422, description = "A bad id or name (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
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

#[utoipa::path(
    delete,
    path = "/v1/admin/organizations/{id}",
    operation_id = "deleteOrganization",
    tag = "admin-tenants",
    summary = "Remove an organization",
    params(
        ("id" = String, Path, description = "The organization's id")
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody),
        (status = 404, description = "No such organization", body = ApiErrorBody),
        (status = 409, description = "It still has instances (`not_empty`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
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

/// Every instance for the operator; a user's own (those they have a role in).
#[utoipa::path(
    get,
    path = "/v1/admin/instances",
    operation_id = "listInstances",
    tag = "admin-tenants",
    summary = "List instances",
    description = "Every instance for the operator; a user's own (those they have a role in).",
    params(
        InstancesQuery
    ),
    responses(
        (status = 200, description = "The instances", body = Data<Instance>)
    ),
    security(("bearerAuth" = []))
)]
pub async fn instances(
    State(state): State<AppState>,
    actor: Actor,
    Query(query): Query<InstancesQuery>,
) -> Result<Json<Value>, ApiError> {
    let mut instances = tenants::instances(&state.pool, query.organization.as_deref()).await?;
    if let Actor::User { user, .. } = actor {
        let own = users::instances_of(&state.pool, user).await?;
        instances.retain(|instance| own.contains(&instance.id));
    }
    Ok(Json(json!({ "data": instances })))
}

#[utoipa::path(
    get,
    path = "/v1/admin/instances/{id}",
    operation_id = "getInstance",
    tag = "admin-tenants",
    summary = "Read an instance",
    params(
        ("id" = String, Path, description = "The instance's id")
    ),
    responses(
        (status = 200, description = "The instance", body = Instance),
        (status = 404, description = "No such instance, or one the user has no role in", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn instance(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    actor.require(&state.pool, &id, Role::Viewer).await?;
    let instance = tenants::instance(&state.pool, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("instance"))?;
    Ok(Json(json!(instance)))
}

/// The operator makes instances and moves them between organizations; an
/// instance's admin renames it.
#[utoipa::path(
    put,
    path = "/v1/admin/instances/{id}",
    operation_id = "putInstance",
    tag = "admin-tenants",
    summary = "Add, rename or move an instance",
    description = "The operator makes instances and moves them between organizations; an instance's admin renames it.",
    params(
        ("id" = String, Path, description = "The instance's id")
    ),
    request_body = InstanceRequest,
    responses(
        (status = 200, description = "The instance", body = Instance),
        (status = 403, description = "Too low a role (`insufficient_role`), or only the operator may (`operator_only`)", body = ApiErrorBody),
        (status = 404, description = "An instance the user has no role in", body = ApiErrorBody),
        (status = 422, description = "A bad id or name, or no such organization (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn put_instance(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    super::admin_ids::check(&id)?;
    let request: InstanceRequest = json_body::parse(&body)?;
    let name = checked_name(&request.name)?;
    let mut tx = state.pool.begin().await?;
    let existing = tenants::instance(&mut *tx, &id).await?;
    let renaming = existing
        .as_ref()
        .is_some_and(|instance| instance.organization_id == request.organization);
    if renaming {
        actor.require(&mut *tx, &id, Role::Admin).await?;
    } else {
        // Making an instance, or moving it to another organization.
        if existing.is_some() {
            actor.require(&mut *tx, &id, Role::Viewer).await?;
        }
        actor.operator_only()?;
    }
    if tenants::organization(&mut *tx, &request.organization).await?.is_none() {
        return Err(ApiError::invalid(
            "organization",
            format!("no organization `{}`", request.organization),
        ));
    }
    tenants::put_instance(&mut *tx, &id, &request.organization, name).await?;
    let after = tenants::instance(&mut *tx, &id).await?;
    super::operator_audit::record_by(&mut tx, &actor.name(), "instance.put", &id, existing, after.clone()).await?;
    tx.commit().await?;
    Ok(Json(json!(after)))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/instances/{id}",
    operation_id = "deleteInstance",
    tag = "admin-tenants",
    summary = "Remove an instance",
    description = "The operator's, or the instance's owners'.",
    params(
        ("id" = String, Path, description = "The instance's id")
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The user's role in the instance is too low (`insufficient_role`)", body = ApiErrorBody),
        (status = 404, description = "No such instance", body = ApiErrorBody),
        (status = 409, description = "It still has projects (`not_empty`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn delete_instance(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut tx = state.pool.begin().await?;
    actor.require(&mut *tx, &id, Role::Owner).await?;
    let before = tenants::instance(&mut *tx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("instance"))?;
    tenants::delete_instance(&mut *tx, &id)
        .await
        .map_err(|error| still_holds(error, "the instance still has projects; move them first"))?;
    super::operator_audit::record_by(&mut tx, &actor.name(), "instance.delete", &id, Some(before), None).await?;
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
