//! Projects' webhook signing secrets: the current one (created on first need)
//! and any previous ones still inside their rotation overlap.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::webhook::WebhookSecret;

#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StoredSecret {
    pub secret: String,
    pub created_at: DateTime<Utc>,
    /// When a rotated-out secret stops signing; `None` for the current one.
    pub retires_at: Option<DateTime<Utc>>,
}

impl StoredSecret {
    /// The signing key, or `None` if the stored text is not a secret (never
    /// written by this code; skipped rather than signing with garbage).
    pub fn key(&self) -> Option<WebhookSecret> {
        WebhookSecret::parse(&self.secret).ok()
    }
}

/// The secrets that sign right now, newest first; creates the project's first
/// secret if it has none.
pub async fn active(pool: &PgPool, project: Uuid) -> Result<Vec<StoredSecret>, sqlx::Error> {
    // Concurrent first calls race to insert; the unique index keeps one.
    sqlx::query(
        "INSERT INTO webhook_secrets (id, project_id, secret) VALUES ($1, $2, $3)
         ON CONFLICT (project_id) WHERE retires_at IS NULL DO NOTHING",
    )
    .bind(Uuid::now_v7())
    .bind(project)
    .bind(WebhookSecret::generate().expose())
    .execute(pool)
    .await?;
    sqlx::query_as(
        "SELECT secret, created_at, retires_at FROM webhook_secrets
         WHERE project_id = $1 AND (retires_at IS NULL OR retires_at > clock_timestamp())
         ORDER BY created_at DESC",
    )
    .bind(project)
    .fetch_all(pool)
    .await
}

/// Makes a new current secret; the previous one keeps signing for `overlap`.
pub async fn rotate(pool: &PgPool, project: Uuid, overlap: Duration) -> Result<Vec<StoredSecret>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE webhook_secrets SET retires_at = clock_timestamp() + $2 * interval '1 millisecond'
         WHERE project_id = $1 AND retires_at IS NULL",
    )
    .bind(project)
    .bind(overlap.as_millis() as f64)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO webhook_secrets (id, project_id, secret) VALUES ($1, $2, $3)")
        .bind(Uuid::now_v7())
        .bind(project)
        .bind(WebhookSecret::generate().expose())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    active(pool, project).await
}
