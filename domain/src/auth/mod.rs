//! API keys: stored as SHA-256 hashes, resolved to the project they act for.
//! Generated keys have a recognisable shape (`key_format`); what a key may do
//! is its scopes (`scope`); the queries are `db::api_keys`. Users act on the
//! admin API with their own tokens, by their `role` in each instance (`db::users`).

pub mod key_format;
mod role;
mod scope;

pub use role::Role;
pub use scope::{Scope, Scopes};

use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::secret::Secret;

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The project a (non-revoked) key belongs to.
pub async fn project_for_key(pool: &PgPool, key: &str) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT project_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL")
        .bind(hash_key(key))
        .fetch_optional(pool)
        .await
}

/// Makes sure `key` exists, with `scopes`, for a project named
/// `project_name` (created if needed). For keys chosen rather than generated:
/// the bootstrap key and tests'; idempotent (a key that exists keeps what it has).
pub async fn ensure_key(
    pool: &PgPool,
    project_name: &str,
    key: &Secret,
    scopes: &[Scope],
) -> Result<Uuid, sqlx::Error> {
    if let Some(project) = project_for_key(pool, key.expose()).await? {
        return Ok(project);
    }
    let mut tx = pool.begin().await?;
    let project = project_named(&mut tx, project_name).await?;
    let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    sqlx::query(
        "INSERT INTO api_keys (id, project_id, key_hash, key_prefix, name, scopes) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (key_hash) DO NOTHING",
    )
    .bind(Uuid::now_v7())
    .bind(project)
    .bind(hash_key(key.expose()))
    .bind(key.expose().chars().take(8).collect::<String>())
    .bind("configured")
    .bind(&scopes)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(project)
}

/// The (oldest) project with this name, created if there is none.
pub async fn project_named(tx: &mut sqlx::PgConnection, name: &str) -> Result<Uuid, sqlx::Error> {
    // Two first calls at once must not make two projects of one name.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('de_project_name:' || $1))")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    let existing: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM projects WHERE name = $1 ORDER BY created_at LIMIT 1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
    match existing {
        Some(id) => Ok(id),
        None => {
            sqlx::query_scalar("INSERT INTO projects (id, name) VALUES ($1, $2) RETURNING id")
                .bind(Uuid::now_v7())
                .bind(name)
                .fetch_one(&mut *tx)
                .await
        }
    }
}
