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

use super::{
    api_keys::CreateKey,
    json_body::{self, JsonBody},
};
use crate::{auth::Actor, error::ApiError, state::AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    email: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserChange {
    disabled: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    #[serde(default)]
    name: String,
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleRequest {
    role: Role,
}

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

pub async fn list(State(state): State<AppState>, actor: Actor) -> Result<Json<Value>, ApiError> {
    actor.operator_only()?;
    Ok(Json(json!({ "data": users::list(&state.pool).await? })))
}

/// The operator reads any user; a user reads themself.
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

pub async fn tokens(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = self_or_operator(actor, &id)?;
    Ok(Json(json!({ "data": users::tokens(&state.pool, id).await? })))
}

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
