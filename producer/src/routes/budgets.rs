//! Monthly budgets: the operator sets, reads and removes any project's
//! (`/v1/admin/budgets/{project_id}`); a project reads its own and this
//! month's spend and reservations (`GET /v1/budget`), and its admin key may
//! read it through the admin path too. An instance's budget
//! (`/v1/admin/instances/{id}/budget`) covers all its projects together. Setting one is audited and reaches
//! every producer within moments (`de_budgets`).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use electrons_domain::{
    auth::Role,
    db::{audit, budgets, instance_budgets, tenants},
};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::json_body::{self, JsonBody};
use super::shapes::Data;
use crate::{
    auth::{Actor, Caller, Operator, ProjectAdmin, OPERATOR},
    error::{ApiError, ApiErrorBody},
    state::AppState,
};
use electrons_domain::db::{budgets::Budget, instance_budgets::InstanceBudget};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct BudgetRequest {
    /// US dollars a month, 0 or more.
    monthly_usd: f64,
}

#[utoipa::path(
    get,
    path = "/v1/budget",
    operation_id = "getOwnBudget",
    tag = "budgets",
    summary = "Read the project's budget",
    description = "The monthly budget with this month's spend and reservations.",
    responses(
        (status = 200, description = "The budget", body = Budget),
        (status = 403, description = "The key lacks the scope this needs (`insufficient_scope`)", body = ApiErrorBody),
        (status = 404, description = "No budget is set", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn own(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let budget = budgets::get(&state.pool, caller.project_id)
        .await?
        .ok_or_else(|| ApiError::not_found("budget"))?;
    Ok(Json(json!(budget)))
}

#[utoipa::path(
    get,
    path = "/v1/admin/budgets",
    operation_id = "listBudgets",
    tag = "budgets",
    summary = "List projects' budgets",
    responses(
        (status = 200, description = "The budgets", body = Data<Budget>),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn list(State(state): State<AppState>, _operator: Operator) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "data": budgets::list(&state.pool).await? })))
}

#[utoipa::path(
    get,
    path = "/v1/admin/budgets/{project_id}",
    operation_id = "getBudget",
    tag = "budgets",
    summary = "Read a project's budget",
    params(
        ("project_id" = String, Path, description = "The project's id")
    ),
    responses(
        (status = 200, description = "The budget", body = Budget),
        (status = 403, description = "A key without the `admin` scope (`insufficient_scope`)", body = ApiErrorBody),
        (status = 404, description = "No budget, or another project than the key's", body = ApiErrorBody),
        (status = 422, description = "Not a project id (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    admin: ProjectAdmin,
    Path(project): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let project = admin
        .project_named(Some(&project))?
        .ok_or_else(|| ApiError::not_found("project"))?;
    let budget = budgets::get(&state.pool, project)
        .await?
        .ok_or_else(|| ApiError::not_found("budget"))?;
    Ok(Json(json!(budget)))
}

#[utoipa::path(
    put,
    path = "/v1/admin/budgets/{project_id}",
    operation_id = "putBudget",
    tag = "budgets",
    summary = "Set a project's budget",
    description = "Reaches every producer within moments; audited.",
    params(
        ("project_id" = String, Path, description = "The project's id")
    ),
    request_body = BudgetRequest,
    responses(
        (status = 200, description = "The budget", body = Budget),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody),
        (status = 404, description = "No such project", body = ApiErrorBody),
        (status = 422, description = "Not a project id, or a negative amount (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn put(
    State(state): State<AppState>,
    _operator: Operator,
    Path(project): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let project = project_id(&project)?;
    let request: BudgetRequest = json_body::parse(&body)?;
    checked_amount(request.monthly_usd)?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM projects WHERE id = $1)")
        .bind(project)
        .fetch_one(&state.pool)
        .await?;
    if !exists {
        return Err(ApiError::not_found("project"));
    }
    let mut tx = state.pool.begin().await?;
    let before = budgets::get(&mut *tx, project).await?;
    budgets::set(&mut *tx, project, request.monthly_usd).await?;
    audit::record(
        &mut *tx,
        audit::Entry {
            actor: OPERATOR,
            action: "budget.put",
            target: project.to_string(),
            project_id: Some(project),
            before: before.map(|b| json!({ "monthly_usd": b.monthly_usd })),
            after: Some(json!({ "monthly_usd": request.monthly_usd })),
        },
    )
    .await?;
    tx.commit().await?;
    state.budgets.budget_set(project);
    let budget = budgets::get(&state.pool, project)
        .await?
        .ok_or_else(|| ApiError::internal("a budget just set is gone"))?;
    Ok(Json(json!(budget)))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/budgets/{project_id}",
    operation_id = "deleteBudget",
    tag = "budgets",
    summary = "Remove a project's budget",
    params(
        ("project_id" = String, Path, description = "The project's id")
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody),
        (status = 404, description = "No budget is set", body = ApiErrorBody),
        (status = 422, description = "Not a project id (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    _operator: Operator,
    Path(project): Path<String>,
) -> Result<StatusCode, ApiError> {
    let project = project_id(&project)?;
    let mut tx = state.pool.begin().await?;
    let before = budgets::get(&mut *tx, project)
        .await?
        .ok_or_else(|| ApiError::not_found("budget"))?;
    budgets::delete(&mut *tx, project).await?;
    audit::record(
        &mut *tx,
        audit::Entry {
            actor: OPERATOR,
            action: "budget.delete",
            target: project.to_string(),
            project_id: Some(project),
            before: Some(json!({ "monthly_usd": before.monthly_usd })),
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

fn project_id(id: &str) -> Result<Uuid, ApiError> {
    id.parse()
        .map_err(|_| ApiError::invalid("project_id", "not a project id"))
}

/// `GET /v1/admin/instances/{id}/budget` (the operator, or the instance's
/// viewers): the instance's budget and this month's spend and reservations
/// across its projects.
#[utoipa::path(
    get,
    path = "/v1/admin/instances/{id}/budget",
    operation_id = "getInstanceBudget",
    tag = "budgets",
    summary = "Read an instance's budget",
    description = "Its spend and reservations across its projects this month (the operator, or the instance's viewers).",
    params(
        ("id" = String, Path, description = "The instance's id")
    ),
    responses(
        (status = 200, description = "The budget", body = InstanceBudget),
        (status = 404, description = "No budget, or an instance the user has no role in", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn instance_get(
    State(state): State<AppState>,
    actor: Actor,
    Path(instance): Path<String>,
) -> Result<Json<Value>, ApiError> {
    actor.require(&state.pool, &instance, Role::Viewer).await?;
    let budget = instance_budgets::get(&state.pool, &instance)
        .await?
        .ok_or_else(|| ApiError::not_found("budget"))?;
    Ok(Json(json!(budget)))
}

/// `PUT /v1/admin/instances/{id}/budget {"monthly_usd"}`: every project of the
/// instance reserves from it as well as from its own budget. The operator's,
/// or the instance's owners'.
#[utoipa::path(
    put,
    path = "/v1/admin/instances/{id}/budget",
    operation_id = "putInstanceBudget",
    tag = "budgets",
    summary = "Set an instance's budget",
    description = "Every project of the instance reserves from it as well as from its own (the operator, or the instance's owners).",
    params(
        ("id" = String, Path, description = "The instance's id")
    ),
    request_body = BudgetRequest,
    responses(
        (status = 200, description = "The budget", body = InstanceBudget),
        (status = 403, description = "The user's role in the instance is too low (`insufficient_role`)", body = ApiErrorBody),
        (status = 404, description = "No such instance", body = ApiErrorBody),
        (status = 422, description = "A negative amount (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn instance_put(
    State(state): State<AppState>,
    actor: Actor,
    Path(instance): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    actor.require(&state.pool, &instance, Role::Owner).await?;
    let request: BudgetRequest = json_body::parse(&body)?;
    checked_amount(request.monthly_usd)?;
    let mut tx = state.pool.begin().await?;
    if tenants::instance(&mut *tx, &instance).await?.is_none() {
        return Err(ApiError::not_found("instance"));
    }
    let before = instance_budgets::get(&mut *tx, &instance).await?;
    instance_budgets::set(&mut *tx, &instance, request.monthly_usd).await?;
    let target = format!("instance:{instance}");
    let after = json!({ "monthly_usd": request.monthly_usd });
    let before = before.map(|b| json!({ "monthly_usd": b.monthly_usd }));
    super::operator_audit::record_by(
        &mut tx,
        &actor.name(),
        "instance_budget.put",
        &target,
        before,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    state.budgets.instance_budget_set();
    let budget = instance_budgets::get(&state.pool, &instance)
        .await?
        .ok_or_else(|| ApiError::internal("a budget just set is gone"))?;
    Ok(Json(json!(budget)))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/instances/{id}/budget",
    operation_id = "deleteInstanceBudget",
    tag = "budgets",
    summary = "Remove an instance's budget",
    params(
        ("id" = String, Path, description = "The instance's id")
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The user's role in the instance is too low (`insufficient_role`)", body = ApiErrorBody),
        (status = 404, description = "No budget is set", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn instance_delete(
    State(state): State<AppState>,
    actor: Actor,
    Path(instance): Path<String>,
) -> Result<StatusCode, ApiError> {
    actor.require(&state.pool, &instance, Role::Owner).await?;
    let mut tx = state.pool.begin().await?;
    let before = instance_budgets::get(&mut *tx, &instance)
        .await?
        .ok_or_else(|| ApiError::not_found("budget"))?;
    instance_budgets::delete(&mut *tx, &instance).await?;
    let target = format!("instance:{instance}");
    let before = Some(json!({ "monthly_usd": before.monthly_usd }));
    super::operator_audit::record_by(&mut tx, &actor.name(), "instance_budget.delete", &target, before, None).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

fn checked_amount(monthly_usd: f64) -> Result<(), ApiError> {
    if monthly_usd.is_finite() && monthly_usd >= 0.0 {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "monthly_usd",
            "a finite number of US dollars, 0 or more",
        ))
    }
}
