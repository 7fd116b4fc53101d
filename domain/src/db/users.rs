//! Users, their tokens and their roles per instance. A token is shown once and
//! kept as its SHA-256 only; revoking one, or disabling its user, refuses it
//! at the next request (the admin API reads tokens from the database, a query
//! per admin request, never per job).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use crate::{
    auth::{hash_key, key_format, Role},
    secret::Secret,
};

#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TokenRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    /// Enough of the token to tell it apart, nothing to use.
    pub token_prefix: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Membership {
    #[serde(rename = "instance")]
    pub instance_id: String,
    pub user_id: Uuid,
    pub email: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const USER_COLUMNS: &str = "id, email, name, created_at, disabled_at";
const TOKEN_COLUMNS: &str = "id, user_id, token_prefix, name, created_at, expires_at, revoked_at, last_used_at";

/// `None` when a user already has this email.
pub async fn create(db: impl PgExecutor<'_>, email: &str, name: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO users (id, email, name) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING RETURNING {USER_COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(email)
    .bind(name)
    .fetch_optional(db)
    .await
}

pub async fn list(pool: &PgPool) -> Result<Vec<User>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id"))
        .fetch_all(pool)
        .await
}

pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Disables the user (every token refused) or enables them again.
pub async fn set_disabled(db: impl PgExecutor<'_>, id: Uuid, disabled: bool) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE users SET disabled_at = CASE WHEN $2 THEN COALESCE(disabled_at, now()) END
         WHERE id = $1 RETURNING {USER_COLUMNS}"
    ))
    .bind(id)
    .bind(disabled)
    .fetch_optional(db)
    .await
}

/// A new token for the user, and the token itself (shown this once).
pub async fn create_token(
    db: impl PgExecutor<'_>,
    user: Uuid,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(TokenRecord, Secret), sqlx::Error> {
    let token = key_format::generate_user_token();
    let record = sqlx::query_as(&format!(
        "INSERT INTO user_tokens (id, user_id, token_hash, token_prefix, name, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {TOKEN_COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(user)
    .bind(hash_key(token.expose()))
    .bind(key_format::shown_prefix(token.expose()))
    .bind(name)
    .bind(expires_at)
    .fetch_one(db)
    .await?;
    Ok((record, token))
}

pub async fn tokens(pool: &PgPool, user: Uuid) -> Result<Vec<TokenRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM user_tokens WHERE user_id = $1 ORDER BY created_at DESC"
    ))
    .bind(user)
    .fetch_all(pool)
    .await
}

pub async fn revoke_token(
    db: impl PgExecutor<'_>,
    user: Uuid,
    token: Uuid,
) -> Result<Option<TokenRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE user_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 AND user_id = $2
         RETURNING {TOKEN_COLUMNS}"
    ))
    .bind(token)
    .bind(user)
    .fetch_optional(db)
    .await
}

/// The user and token a token is, if it is live (not revoked or expired, its
/// user not disabled); notes its use at most once a minute.
pub async fn authenticate(pool: &PgPool, token: &str) -> Result<Option<(Uuid, Uuid)>, sqlx::Error> {
    sqlx::query_as(
        "WITH live AS (
             SELECT t.id, t.user_id FROM user_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL
               AND (t.expires_at IS NULL OR t.expires_at > now())
         ), noted AS (
             UPDATE user_tokens SET last_used_at = now()
             WHERE id = (SELECT id FROM live) AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
         )
         SELECT user_id, id FROM live",
    )
    .bind(hash_key(token))
    .fetch_optional(pool)
    .await
}

/// The user's role in the instance, if any.
pub async fn role_in(db: impl PgExecutor<'_>, user: Uuid, instance: &str) -> Result<Option<Role>, sqlx::Error> {
    sqlx::query_scalar("SELECT role FROM instance_members WHERE user_id = $1 AND instance_id = $2")
        .bind(user)
        .bind(instance)
        .fetch_optional(db)
        .await
}

/// The instances the user has a role in.
pub async fn instances_of(pool: &PgPool, user: Uuid) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT instance_id FROM instance_members WHERE user_id = $1 ORDER BY instance_id")
        .bind(user)
        .fetch_all(pool)
        .await
}

pub async fn members(db: impl PgExecutor<'_>, instance: &str) -> Result<Vec<Membership>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.instance_id, m.user_id, u.email, m.role, m.created_at, m.updated_at
         FROM instance_members m JOIN users u ON u.id = m.user_id
         WHERE m.instance_id = $1 ORDER BY u.email",
    )
    .bind(instance)
    .fetch_all(db)
    .await
}

pub async fn set_role(db: impl PgExecutor<'_>, instance: &str, user: Uuid, role: Role) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO instance_members (instance_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (instance_id, user_id) DO UPDATE SET role = EXCLUDED.role, updated_at = now()",
    )
    .bind(instance)
    .bind(user)
    .bind(role)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn remove_member(db: impl PgExecutor<'_>, instance: &str, user: Uuid) -> Result<bool, sqlx::Error> {
    let removed = sqlx::query("DELETE FROM instance_members WHERE instance_id = $1 AND user_id = $2")
        .bind(instance)
        .bind(user)
        .execute(db)
        .await?;
    Ok(removed.rows_affected() > 0)
}

/// How many owners the instance has (the last one cannot leave or be demoted).
pub async fn owners(db: impl PgExecutor<'_>, instance: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM instance_members WHERE instance_id = $1 AND role = 'owner'")
        .bind(instance)
        .fetch_one(db)
        .await
}
