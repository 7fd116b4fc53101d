//! `/v1/admin/projects[/{id}]` (the operator, or an instance's admins for
//! its projects; its viewers read them): make a project in an instance,
//! rename it, or move it to another instance (its next provider calls use that
//! instance's keys, within a second on every worker). Projects are not
//! deleted: their jobs, files and spend stay accountable. Audited.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    Json,
};
use electrons_domain::{
    auth::Role,
    db::{
        projects::{self, Project},
        tenants, users,
    },
};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::json_body::{self, JsonBody};
use super::shapes::Data;
use crate::{
    auth::Actor,
    error::{ApiError, ApiErrorBody},
    state::AppState,
};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewProject {
    name: String,
    /// Default `default`.
    #[serde(default = "default_instance")]
    instance: String,
}

fn default_instance() -> String {
    "default".into()
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ProjectChange {
    name: Option<String>,
    instance: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectsQuery {
    /// One instance's.
    instance: Option<String>,
}

/// Every project (or one instance's) for the operator; for a user, those of
/// the instances they have a role in.
#[utoipa::path(
    get,
    path = "/v1/admin/projects",
    operation_id = "listProjects",
    tag = "admin-projects",
    summary = "List projects",
    description = "Every project (or one instance's) for the operator; for a user, those of the instances they have a role in.",
    params(
        ProjectsQuery
    ),
    responses(
        (status = 200, description = "The projects", body = Data<Project>),
        (status = 404, description = "An instance the user has no role in", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    actor: Actor,
    Query(query): Query<ProjectsQuery>,
) -> Result<Json<Value>, ApiError> {
    let instance = query.instance.as_deref();
    if let Some(instance) = instance {
        actor.require(&state.pool, instance, Role::Viewer).await?;
    }
    let mut projects = projects::list(&state.pool, instance).await?;
    if let Actor::User { user, .. } = actor {
        let own = users::instances_of(&state.pool, user).await?;
        projects.retain(|project| own.contains(&project.instance_id));
    }
    Ok(Json(json!({ "data": projects })))
}

#[utoipa::path(
    get,
    path = "/v1/admin/projects/{id}",
    operation_id = "getProject",
    tag = "admin-projects",
    summary = "Read a project",
    params(
        ("id" = String, Path, description = "The project's id")
    ),
    responses(
        (status = 200, description = "The project", body = Project),
        (status = 404, description = "No such project, or one the user cannot see", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn get(State(state): State<AppState>, actor: Actor, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(visible(&state, actor, &id, Role::Viewer).await?)))
}

/// The operator, or an admin of the instance the project goes in.
#[utoipa::path(
    post,
    path = "/v1/admin/projects",
    operation_id = "createProject",
    tag = "admin-projects",
    summary = "Make a project",
    description = "In an instance (default `default`): the operator, or the instance's admins.",
    request_body = NewProject,
    responses(
        (status = 201, description = "Made", body = Project),
        (status = 403, description = "The user's role in the instance is too low (`insufficient_role`)", body = ApiErrorBody),
        (status = 422, description = "A bad name, or no such instance (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    actor: Actor,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request: NewProject = json_body::parse(&body)?;
    let name = super::admin_tenants::checked_name(&request.name)?;
    let mut tx = state.pool.begin().await?;
    known_instance(&mut tx, &actor, &request.instance).await?;
    let project = projects::create(&mut *tx, name, &request.instance).await?;
    let target = project.id.to_string();
    super::operator_audit::record_by(
        &mut tx,
        &actor.name(),
        "project.create",
        &target,
        None,
        Some(project.clone()),
    )
    .await?;
    tx.commit().await?;
    state.catalog.reload(&state.pool).await?;
    Ok((StatusCode::CREATED, Json(json!(project))))
}

/// Renamed by an admin of its instance; moved by one who is admin in both.
#[utoipa::path(
    patch,
    path = "/v1/admin/projects/{id}",
    operation_id = "updateProject",
    tag = "admin-projects",
    summary = "Rename or move a project",
    description = "Renamed by an admin of its instance; moved by one who is admin in both. Its next provider calls use the new instance's keys.",
    params(
        ("id" = String, Path, description = "The project's id")
    ),
    request_body = ProjectChange,
    responses(
        (status = 200, description = "The project", body = Project),
        (status = 403, description = "The user's role in the instance is too low (`insufficient_role`)", body = ApiErrorBody),
        (status = 404, description = "No such project, or one the user cannot see", body = ApiErrorBody),
        (status = 422, description = "A bad name, or no such instance (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let before = visible(&state, actor, &id, Role::Admin).await?;
    let request: ProjectChange = json_body::parse(&body)?;
    let name = request
        .name
        .as_deref()
        .map(super::admin_tenants::checked_name)
        .transpose()?;
    let mut tx = state.pool.begin().await?;
    if let Some(instance) = &request.instance {
        known_instance(&mut tx, &actor, instance).await?;
    }
    let after = projects::update(&mut *tx, before.id, name, request.instance.as_deref())
        .await?
        .ok_or_else(|| ApiError::not_found("project"))?;
    let target = before.id.to_string();
    super::operator_audit::record_by(
        &mut tx,
        &actor.name(),
        "project.update",
        &target,
        Some(before),
        Some(after.clone()),
    )
    .await?;
    tx.commit().await?;
    state.catalog.reload(&state.pool).await?;
    Ok(Json(json!(after)))
}

/// The project, if the actor has at least `least` in its instance; 404 for a
/// project the actor cannot see (whether or not it exists).
pub(super) async fn visible(state: &AppState, actor: Actor, id: &str, least: Role) -> Result<Project, ApiError> {
    visible_with_role(state, actor, id, least)
        .await
        .map(|(project, _)| project)
}

/// The same, with the actor's role in the project's instance.
pub(super) async fn visible_with_role(
    state: &AppState,
    actor: Actor,
    id: &str,
    least: Role,
) -> Result<(Project, Role), ApiError> {
    let id: Uuid = id.parse().map_err(|_| ApiError::not_found("project"))?;
    let project = projects::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found("project"))?;
    match actor.require(&state.pool, &project.instance_id, least).await {
        Ok(role) => Ok((project, role)),
        Err(error) if error.status == StatusCode::NOT_FOUND => Err(ApiError::not_found("project")),
        Err(error) => Err(error),
    }
}

/// The instance exists and the actor is its admin (an instance the actor
/// cannot see is, to them, not there).
async fn known_instance(tx: &mut sqlx::PgConnection, actor: &Actor, instance: &str) -> Result<(), ApiError> {
    let missing = || ApiError::invalid("instance", format!("no instance `{instance}`"));
    if tenants::instance(&mut *tx, instance).await?.is_none() {
        return Err(missing());
    }
    match actor.require(&mut *tx, instance, Role::Admin).await {
        Err(error) if error.status == StatusCode::NOT_FOUND => Err(missing()),
        other => other.map(|_| ()),
    }
}
