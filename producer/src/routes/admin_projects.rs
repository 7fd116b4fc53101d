//! `/v1/admin/projects[/{id}]` (the operator): make a project in an instance,
//! rename it, or move it to another instance (its next provider calls use that
//! instance's keys, within a second on every worker). Projects are not
//! deleted: their jobs, files and spend stay accountable. Audited.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    Json,
};
use electrons_domain::db::{projects, tenants};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::json_body::{self, JsonBody};
use crate::{auth::Operator, error::ApiError, state::AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewProject {
    name: String,
    #[serde(default = "default_instance")]
    instance: String,
}

fn default_instance() -> String {
    "default".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectChange {
    name: Option<String>,
    instance: Option<String>,
}

#[derive(Deserialize)]
pub struct ProjectsQuery {
    instance: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    _operator: Operator,
    Query(query): Query<ProjectsQuery>,
) -> Result<Json<Value>, ApiError> {
    let projects = projects::list(&state.pool, query.instance.as_deref()).await?;
    Ok(Json(json!({ "data": projects })))
}

pub async fn get(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let project = projects::get(&state.pool, parse_id(&id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("project"))?;
    Ok(Json(json!(project)))
}

pub async fn create(
    State(state): State<AppState>,
    _operator: Operator,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request: NewProject = json_body::parse(&body)?;
    let name = super::admin_tenants::checked_name(&request.name)?;
    let mut tx = state.pool.begin().await?;
    known_instance(&mut tx, &request.instance).await?;
    let project = projects::create(&mut *tx, name, &request.instance).await?;
    let target = project.id.to_string();
    super::operator_audit::record(&mut tx, "project.create", &target, None, Some(project.clone())).await?;
    tx.commit().await?;
    state.catalog.reload(&state.pool).await?;
    Ok((StatusCode::CREATED, Json(json!(project))))
}

pub async fn update(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let request: ProjectChange = json_body::parse(&body)?;
    let name = request
        .name
        .as_deref()
        .map(super::admin_tenants::checked_name)
        .transpose()?;
    let mut tx = state.pool.begin().await?;
    if let Some(instance) = &request.instance {
        known_instance(&mut tx, instance).await?;
    }
    let before = projects::get(&mut *tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("project"))?;
    let after = projects::update(&mut *tx, id, name, request.instance.as_deref())
        .await?
        .ok_or_else(|| ApiError::not_found("project"))?;
    let target = id.to_string();
    super::operator_audit::record(&mut tx, "project.update", &target, Some(before), Some(after.clone())).await?;
    tx.commit().await?;
    state.catalog.reload(&state.pool).await?;
    Ok(Json(json!(after)))
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    id.parse().map_err(|_| ApiError::not_found("project"))
}

async fn known_instance(tx: &mut sqlx::PgConnection, instance: &str) -> Result<(), ApiError> {
    match tenants::instance(&mut *tx, instance).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::invalid("instance", format!("no instance `{instance}`"))),
    }
}
