//! Projects as the admin API writes them: a name and the instance they belong
//! to. Everything a client makes (jobs, files, keys, webhook secrets,
//! deliveries, feedback) belongs to one project.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Project {
    pub id: Uuid,
    pub name: String,
    #[serde(rename = "instance")]
    pub instance_id: String,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, name, instance_id, created_at";

/// Every project, or one instance's.
pub async fn list(pool: &PgPool, instance: Option<&str>) -> Result<Vec<Project>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM projects WHERE $1::text IS NULL OR instance_id = $1 ORDER BY created_at, id"
    ))
    .bind(instance)
    .fetch_all(pool)
    .await
}

pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Project>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM projects WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Refused (a foreign-key error) for an instance that does not exist.
pub async fn create(db: impl PgExecutor<'_>, name: &str, instance: &str) -> Result<Project, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO projects (id, name, instance_id) VALUES ($1, $2, $3) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(name)
    .bind(instance)
    .fetch_one(db)
    .await
}

/// Renames the project or moves it to another instance (whose keys its next
/// calls use); `None` if there is no such project.
pub async fn update(
    db: impl PgExecutor<'_>,
    id: Uuid,
    name: Option<&str>,
    instance: Option<&str>,
) -> Result<Option<Project>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE projects SET name = COALESCE($2, name), instance_id = COALESCE($3, instance_id)
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(name)
    .bind(instance)
    .fetch_optional(db)
    .await
}
