//! API keys: made here (shown once, stored as a SHA-256 hash), looked up by
//! hash, listed, revoked; `last_used_at` written in batches.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    auth::{
        hash_key,
        key_format::{self, KeyEnvironment},
        Scope, Scopes,
    },
    secret::Secret,
};

/// What a request's key resolves to; what producers cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActiveKey {
    pub id: Uuid,
    pub project_id: Uuid,
    pub scopes: Scopes,
    pub expires_at: Option<DateTime<Utc>>,
}

impl ActiveKey {
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// A key as the admin API shows it: never the key, only its first characters.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct KeyRecord {
    pub id: Uuid,
    pub project_id: Uuid,
    pub name: String,
    pub environment: KeyEnvironment,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    project_id: Uuid,
    name: String,
    environment: String,
    key_prefix: String,
    scopes: Vec<String>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<Row> for KeyRecord {
    fn from(row: Row) -> Self {
        Self {
            id: row.id,
            project_id: row.project_id,
            name: row.name,
            // The table's CHECKs keep both to the known values.
            environment: KeyEnvironment::parse(&row.environment).unwrap_or(KeyEnvironment::Live),
            prefix: row.key_prefix,
            scopes: row.scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        }
    }
}

const COLUMNS: &str =
    "id, project_id, name, environment, key_prefix, scopes, created_at, expires_at, last_used_at, revoked_at";

/// What a new key is for.
pub struct NewKey {
    pub project_id: Uuid,
    pub name: String,
    pub environment: KeyEnvironment,
    pub scopes: Vec<Scope>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Makes a key: the record, and the key itself, which is not kept.
pub async fn create(pool: impl sqlx::PgExecutor<'_>, new: NewKey) -> Result<(KeyRecord, Secret), sqlx::Error> {
    let key = key_format::generate(new.environment);
    let scopes: Vec<&str> = new.scopes.iter().map(|s| s.as_str()).collect();
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO api_keys (id, project_id, key_hash, key_prefix, name, environment, scopes, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(new.project_id)
    .bind(hash_key(key.expose()))
    .bind(key_format::shown_prefix(key.expose()))
    .bind(&new.name)
    .bind(new.environment.as_str())
    .bind(&scopes)
    .bind(new.expires_at)
    .fetch_one(pool)
    .await?;
    Ok((row.into(), key))
}

/// The unrevoked key with this hash (expired or not: the caller says which).
pub async fn active(pool: &PgPool, key_hash: &str) -> Result<Option<ActiveKey>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Active {
        id: Uuid,
        project_id: Uuid,
        scopes: Vec<String>,
        expires_at: Option<DateTime<Utc>>,
    }
    let row: Option<Active> = sqlx::query_as(
        "SELECT id, project_id, scopes, expires_at FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
    )
    .bind(key_hash)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| ActiveKey {
        id: row.id,
        project_id: row.project_id,
        scopes: row.scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
        expires_at: row.expires_at,
    }))
}

/// Keys, newest first; one project's, or every project's.
pub async fn list(pool: &PgPool, project: Option<Uuid>) -> Result<Vec<KeyRecord>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE $1::uuid IS NULL OR project_id = $1
         ORDER BY created_at DESC, id DESC LIMIT 1000"
    ))
    .bind(project)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(KeyRecord::from).collect())
}

/// One key, if it is `project`'s (any project's for `None`).
pub async fn get(
    pool: impl sqlx::PgExecutor<'_>,
    id: Uuid,
    project: Option<Uuid>,
) -> Result<Option<KeyRecord>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE id = $1 AND ($2::uuid IS NULL OR project_id = $2)"
    ))
    .bind(id)
    .bind(project)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(KeyRecord::from))
}

/// Revokes a key (again is a no-op that keeps the first time); the trigger
/// tells every producer.
pub async fn revoke(
    pool: impl sqlx::PgExecutor<'_>,
    id: Uuid,
    project: Option<Uuid>,
) -> Result<Option<KeyRecord>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
         WHERE id = $1 AND ($2::uuid IS NULL OR project_id = $2) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(project)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(KeyRecord::from))
}

/// Records that these keys were used just now: one statement for a batch.
pub async fn mark_used(pool: &PgPool, ids: &[Uuid]) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_keys SET last_used_at = now() WHERE id = ANY($1)")
        .bind(ids)
        .execute(pool)
        .await?;
    Ok(())
}
