//! Users, their tokens, their roles per instance, and the keys of an
//! instance's projects they manage by role.
//!
//! - `/v1/admin/users[/{id}]`: the operator adds, lists, disables users.
//! - `/v1/admin/users/{id}/tokens[/{token}]`: a token (`de_user_…`, shown once)
//!   for the operator or the user themself to make, list and revoke.
//! - `/v1/admin/instances/{id}/members[/{user}]`: viewers list them; admins add,
//!   change and remove members and viewers; owners anyone. The last owner
//!   stays (the operator may still change them).
//! - `/v1/admin/projects/{id}/keys[/{key}]`: members make jobs keys for the
//!   instance's projects and list them; admins make any key and revoke.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use chrono::{DateTime, Utc};
use electrons_domain::{
    auth::{Role, Scope},
    db::{api_keys, tenants, users},
};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::shapes::{CreatedKey, CreatedToken, Data, MemberRole, UserWithInstances};
use super::{
    api_keys::CreateKey,
    json_body::{self, JsonBody},
};
use crate::{
    auth::Actor,
    error::{ApiError, ApiErrorBody},
    state::AppState,
};
use electrons_domain::db::{
    api_keys::KeyRecord,
    users::{Membership, TokenRecord, User},
};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewUser {
    email: String,
    name: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct UserChange {
    disabled: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewToken {
    #[serde(default)]
    name: String,
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RoleRequest {
    role: Role,
}

#[utoipa::path(
    post,
    path = "/v1/admin/users",
    operation_id = "createUser",
    tag = "admin-users",
    summary = "Add a user",
    request_body = NewUser,
    responses(
        (status = 201, description = "Added", body = User),
        (status = 403, description = "Only the operator may (`operator_only`)", body = ApiErrorBody),
        (status = 409, description = "A user with this email exists (`email_taken`)", body = ApiErrorBody),
        (status = 422, description = "A bad email or name (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    actor: Actor,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    actor.operator_only()?;
    let request: NewUser = json_body::parse(&body)?;
    let email = request.email.trim();
    let looks_like_email = email.len() <= 320
        && email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
    if !looks_like_email {
        return Err(ApiError::invalid("email", "an email address"));
    }
    let name = super::admin_tenants::checked_name(&request.name)?;
    let mut tx = state.pool.begin().await?;
    let user = users::create(&mut *tx, email, name).await?.ok_or_else(|| {
        ApiError::new(StatusCode::CONFLICT, "email_taken", "a user with this email exists").with_field("email")
    })?;
    let target = format!("user:{}", user.id);
    super::operator_audit::record_by(&mut tx, &actor.name(), "user.create", &target, None, Some(user.clone())).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!(user))))
}

#[utoipa::path(
    get,
    path = "/v1/admin/users",
    operation_id = "listUsers",
    tag = "admin-users",
    summary = "List users",
    responses(
        (status = 200, description = "The users", body = Data<User>),
        (status = 403, description = "Only the operator may (`operator_only`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn list(State(state): State<AppState>, actor: Actor) -> Result<Json<Value>, ApiError> {
    actor.operator_only()?;
    Ok(Json(json!({ "data": users::list(&state.pool).await? })))
}

/// The operator reads any user; a user reads themself.
#[utoipa::path(
    get,
    path = "/v1/admin/users/{id}",
    operation_id = "getUser",
    tag = "admin-users",
    summary = "Read a user",
    description = "The operator reads any user; a user themself.",
    params(
        ("id" = String, Path, description = "The user's id")
    ),
    responses(
        (status = 200, description = "The user and the instances they have a role in", body = UserWithInstances),
        (status = 404, description = "No such user (or another user)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn get(State(state): State<AppState>, actor: Actor, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = self_or_operator(actor, &id)?;
    let user = users::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let instances = users::instances_of(&state.pool, id).await?;
    let mut answer = json!(user);
    answer["instances"] = json!(instances);
    Ok(Json(answer))
}

/// `{"disabled": true}` refuses every token of the user from the next request.
#[utoipa::path(
    patch,
    path = "/v1/admin/users/{id}",
    operation_id = "updateUser",
    tag = "admin-users",
    summary = "Disable or enable a user",
    description = "`{\"disabled\": true}` refuses every token of the user from the next request.",
    params(
        ("id" = String, Path, description = "The user's id")
    ),
    request_body = UserChange,
    responses(
        (status = 200, description = "The user", body = User),
        (status = 403, description = "Only the operator may (`operator_only`)", body = ApiErrorBody),
        (status = 404, description = "No such user", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    actor.operator_only()?;
    let id = user_id(&id)?;
    let request: UserChange = json_body::parse(&body)?;
    let mut tx = state.pool.begin().await?;
    let before = users::get(&mut *tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let after = users::set_disabled(&mut *tx, id, request.disabled)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let target = format!("user:{id}");
    super::operator_audit::record_by(
        &mut tx,
        &actor.name(),
        "user.update",
        &target,
        Some(before),
        Some(after.clone()),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!(after)))
}

#[utoipa::path(
    post,
    path = "/v1/admin/users/{id}/tokens",
    operation_id = "createUserToken",
    tag = "admin-users",
    summary = "Create a user token",
    description = "The token (`de_user_…`) is in this answer only; for the operator or the user themself.",
    params(
        ("id" = String, Path, description = "The user's id")
    ),
    request_body = NewToken,
    responses(
        (status = 201, description = "Created", body = CreatedToken),
        (status = 404, description = "No such user (or another user)", body = ApiErrorBody),
        (status = 422, description = "A bad name or expiry (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn create_token(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = self_or_operator(actor, &id)?;
    let request: NewToken = json_body::parse(&body)?;
    if request.name.chars().count() > 200 {
        return Err(ApiError::invalid("name", "at most 200 characters"));
    }
    if request.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(ApiError::invalid("expires_at", "must be in the future"));
    }
    let mut tx = state.pool.begin().await?;
    if users::get(&mut *tx, id).await?.is_none() {
        return Err(ApiError::not_found("user"));
    }
    let (record, token) = users::create_token(&mut *tx, id, &request.name, request.expires_at).await?;
    let target = format!("user_token:{}", record.id);
    super::operator_audit::record_by(
        &mut tx,
        &actor.name(),
        "user_token.create",
        &target,
        None,
        Some(record.clone()),
    )
    .await?;
    tx.commit().await?;
    let mut answer = json!(record);
    // The only time the token is ever shown.
    answer["token"] = json!(token.expose());
    Ok((StatusCode::CREATED, Json(answer)))
}

#[utoipa::path(
    get,
    path = "/v1/admin/users/{id}/tokens",
    operation_id = "listUserTokens",
    tag = "admin-users",
    summary = "List a user's tokens",
    params(
        ("id" = String, Path, description = "The user's id")
    ),
    responses(
        (status = 200, description = "The tokens, never the tokens themselves", body = Data<TokenRecord>),
        (status = 404, description = "No such user (or another user)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn tokens(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = self_or_operator(actor, &id)?;
    Ok(Json(json!({ "data": users::tokens(&state.pool, id).await? })))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/users/{id}/tokens/{token}",
    operation_id = "revokeUserToken",
    tag = "admin-users",
    summary = "Revoke a user token",
    params(
        ("id" = String, Path, description = "The user's id"),
        ("token" = String, Path, description = "The token's id")
    ),
    responses(
        (status = 200, description = "The token, revoked", body = TokenRecord),
        (status = 404, description = "No such user or token", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, token)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let id = self_or_operator(actor, &id)?;
    let token: Uuid = token.parse().map_err(|_| ApiError::not_found("token"))?;
    let mut tx = state.pool.begin().await?;
    let revoked = users::revoke_token(&mut *tx, id, token)
        .await?
        .ok_or_else(|| ApiError::not_found("token"))?;
    let target = format!("user_token:{token}");
    super::operator_audit::record_by(
        &mut tx,
        &actor.name(),
        "user_token.revoke",
        &target,
        None,
        Some(revoked.clone()),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!(revoked)))
}

#[utoipa::path(
    get,
    path = "/v1/admin/instances/{id}/members",
    operation_id = "listMembers",
    tag = "admin-tenants",
    summary = "List an instance's members",
    params(
        ("id" = String, Path, description = "The instance's id")
    ),
    responses(
        (status = 200, description = "The members and their roles", body = Data<Membership>),
        (status = 404, description = "No such instance, or one the user has no role in", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn members(
    State(state): State<AppState>,
    actor: Actor,
    Path(instance): Path<String>,
) -> Result<Json<Value>, ApiError> {
    actor.require(&state.pool, &instance, Role::Viewer).await?;
    if tenants::instance(&state.pool, &instance).await?.is_none() {
        return Err(ApiError::not_found("instance"));
    }
    Ok(Json(json!({ "data": users::members(&state.pool, &instance).await? })))
}

#[utoipa::path(
    put,
    path = "/v1/admin/instances/{id}/members/{user}",
    operation_id = "putMember",
    tag = "admin-tenants",
    summary = "Give a user a role in an instance",
    description = "Admins give and change member and viewer roles; owners any. The last owner stays.",
    params(
        ("id" = String, Path, description = "The instance's id"),
        ("user" = String, Path, description = "The user's id")
    ),
    request_body = RoleRequest,
    responses(
        (status = 200, description = "The role", body = MemberRole),
        (status = 403, description = "The user's role in the instance is too low (`insufficient_role`)", body = ApiErrorBody),
        (status = 404, description = "No such instance or user id", body = ApiErrorBody),
        (status = 409, description = "It would leave the instance without an owner (`last_owner`)", body = ApiErrorBody),
        (status = 422, description = "No such user (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn put_member(
    State(state): State<AppState>,
    actor: Actor,
    Path((instance, user)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let request: RoleRequest = json_body::parse(&body)?;
    let user = user_id(&user)?;
    let mut tx = state.pool.begin().await?;
    let mine = actor.require(&mut *tx, &instance, Role::Admin).await?;
    if tenants::instance(&mut *tx, &instance).await?.is_none() {
        return Err(ApiError::not_found("instance"));
    }
    if users::get(&mut *tx, user).await?.is_none() {
        return Err(ApiError::invalid("user", "no such user"));
    }
    let theirs = users::role_in(&mut *tx, user, &instance).await?;
    may_change(mine, theirs, Some(request.role))?;
    keeps_an_owner(&mut tx, &actor, &instance, theirs, Some(request.role)).await?;
    users::set_role(&mut *tx, &instance, user, request.role).await?;
    let target = format!("member:{instance}:{user}");
    let before = theirs.map(|role| json!({ "role": role }));
    let after = Some(json!({ "role": request.role }));
    super::operator_audit::record_by(&mut tx, &actor.name(), "member.put", &target, before, after).await?;
    tx.commit().await?;
    Ok(Json(
        json!({ "instance": instance, "user_id": user, "role": request.role }),
    ))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/instances/{id}/members/{user}",
    operation_id = "deleteMember",
    tag = "admin-tenants",
    summary = "Remove a user from an instance",
    params(
        ("id" = String, Path, description = "The instance's id"),
        ("user" = String, Path, description = "The user's id")
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The user's role in the instance is too low (`insufficient_role`)", body = ApiErrorBody),
        (status = 404, description = "No such instance or member", body = ApiErrorBody),
        (status = 409, description = "It would leave the instance without an owner (`last_owner`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn delete_member(
    State(state): State<AppState>,
    actor: Actor,
    Path((instance, user)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let user = user_id(&user)?;
    let mut tx = state.pool.begin().await?;
    let mine = actor.require(&mut *tx, &instance, Role::Admin).await?;
    let theirs = users::role_in(&mut *tx, user, &instance)
        .await?
        .ok_or_else(|| ApiError::not_found("member"))?;
    may_change(mine, Some(theirs), None)?;
    keeps_an_owner(&mut tx, &actor, &instance, Some(theirs), None).await?;
    users::remove_member(&mut *tx, &instance, user).await?;
    let target = format!("member:{instance}:{user}");
    super::operator_audit::record_by(
        &mut tx,
        &actor.name(),
        "member.delete",
        &target,
        Some(json!({ "role": theirs })),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An admin manages members and viewers only; an owner anyone.
fn may_change(mine: Role, theirs: Option<Role>, to: Option<Role>) -> Result<(), ApiError> {
    let highest = theirs.max(to).unwrap_or(Role::Viewer);
    if mine < Role::Owner && highest >= Role::Admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_role",
            "only an owner gives, changes or takes the admin and owner roles",
        ));
    }
    Ok(())
}

/// A user may not leave an instance without an owner; the operator may.
async fn keeps_an_owner(
    tx: &mut sqlx::PgConnection,
    actor: &Actor,
    instance: &str,
    theirs: Option<Role>,
    to: Option<Role>,
) -> Result<(), ApiError> {
    let demotes_an_owner = theirs == Some(Role::Owner) && to != Some(Role::Owner);
    if matches!(actor, Actor::User { .. }) && demotes_an_owner && users::owners(&mut *tx, instance).await? <= 1 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "last_owner",
            "an instance keeps at least one owner; make another owner first",
        ));
    }
    Ok(())
}

/// Members make jobs keys; admins any key.
#[utoipa::path(
    post,
    path = "/v1/admin/projects/{id}/keys",
    operation_id = "createProjectKey",
    tag = "admin-projects",
    summary = "Create a key for a project",
    description = "Members make jobs keys (`jobs:read`, `jobs:write`); admins any key. The key is in this answer only.",
    params(
        ("id" = String, Path, description = "The project's id")
    ),
    request_body = CreateKey,
    responses(
        (status = 201, description = "Created", body = CreatedKey),
        (status = 403, description = "The user's role in the instance is too low (`insufficient_role`)", body = ApiErrorBody),
        (status = 404, description = "No such project, or one the user cannot see", body = ApiErrorBody),
        (status = 422, description = "A bad name, scope or expiry (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn create_project_key(
    State(state): State<AppState>,
    actor: Actor,
    Path(project): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (project, role) = super::admin_projects::visible_with_role(&state, actor, &project, Role::Member).await?;
    let request: CreateKey = json_body::parse(&body)?;
    let allowed: &[Scope] = if role >= Role::Admin {
        &Scope::ALL
    } else {
        &Scope::DEFAULT
    };
    super::api_keys::make(&state, &actor.name(), project.id, request, allowed).await
}

#[utoipa::path(
    get,
    path = "/v1/admin/projects/{id}/keys",
    operation_id = "listProjectKeys",
    tag = "admin-projects",
    summary = "List a project's keys",
    params(
        ("id" = String, Path, description = "The project's id")
    ),
    responses(
        (status = 200, description = "The keys", body = Data<KeyRecord>),
        (status = 403, description = "The user's role in the instance is too low (`insufficient_role`)", body = ApiErrorBody),
        (status = 404, description = "No such project, or one the user cannot see", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn project_keys(
    State(state): State<AppState>,
    actor: Actor,
    Path(project): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let project = super::admin_projects::visible(&state, actor, &project, Role::Member).await?;
    Ok(Json(
        json!({ "data": api_keys::list(&state.pool, Some(project.id)).await? }),
    ))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/projects/{id}/keys/{key}",
    operation_id = "revokeProjectKey",
    tag = "admin-projects",
    summary = "Revoke a project's key",
    params(
        ("id" = String, Path, description = "The project's id"),
        ("key" = String, Path, description = "The key's id")
    ),
    responses(
        (status = 200, description = "The key, revoked", body = KeyRecord),
        (status = 403, description = "The user's role in the instance is too low (`insufficient_role`)", body = ApiErrorBody),
        (status = 404, description = "No such project or key", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn revoke_project_key(
    State(state): State<AppState>,
    actor: Actor,
    Path((project, key)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let project = super::admin_projects::visible(&state, actor, &project, Role::Admin).await?;
    let key: Uuid = key.parse().map_err(|_| ApiError::not_found("API key"))?;
    let mut tx = state.pool.begin().await?;
    let before = api_keys::get(&mut *tx, key, Some(project.id))
        .await?
        .ok_or_else(|| ApiError::not_found("API key"))?;
    let revoked = api_keys::revoke(&mut *tx, key, Some(project.id))
        .await?
        .ok_or_else(|| ApiError::not_found("API key"))?;
    let target = format!("api_key:{key}");
    super::operator_audit::record_by(
        &mut tx,
        &actor.name(),
        "api_key.revoke",
        &target,
        Some(before),
        Some(revoked.clone()),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!(revoked)))
}

fn user_id(id: &str) -> Result<Uuid, ApiError> {
    id.parse().map_err(|_| ApiError::not_found("user"))
}

/// The user `id` names, if the actor is the operator or that user.
fn self_or_operator(actor: Actor, id: &str) -> Result<Uuid, ApiError> {
    let id = user_id(id)?;
    match actor {
        Actor::Operator => Ok(id),
        Actor::User { user, .. } if user == id => Ok(id),
        Actor::User { .. } => Err(ApiError::not_found("user")),
    }
}
