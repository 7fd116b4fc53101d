//! API keys: stored as SHA-256 hashes, resolved to the project they act for.

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

/// Makes sure `key` exists, for a project named `project_name` (created if
/// needed). Used for the bootstrap key and by tests; idempotent.
pub async fn ensure_key(pool: &PgPool, project_name: &str, key: &Secret) -> Result<Uuid, sqlx::Error> {
    if let Some(project) = project_for_key(pool, key.expose()).await? {
        return Ok(project);
    }
    let mut tx = pool.begin().await?;
    let project: Uuid = match sqlx::query_scalar("SELECT id FROM projects WHERE name = $1 ORDER BY created_at LIMIT 1")
        .bind(project_name)
        .fetch_optional(&mut *tx)
        .await?
    {
        Some(id) => id,
        None => {
            sqlx::query_scalar("INSERT INTO projects (id, name) VALUES ($1, $2) RETURNING id")
                .bind(Uuid::now_v7())
                .bind(project_name)
                .fetch_one(&mut *tx)
                .await?
        }
    };
    let prefix: String = key.expose().chars().take(8).collect();
    sqlx::query(
        "INSERT INTO api_keys (id, project_id, key_hash, key_prefix) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key_hash) DO NOTHING",
    )
    .bind(Uuid::now_v7())
    .bind(project)
    .bind(hash_key(key.expose()))
    .bind(prefix)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(project)
}
