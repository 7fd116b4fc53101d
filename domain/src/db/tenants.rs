//! Organizations and their instances, as the admin API writes them. An
//! instance holds projects and its own provider keys (`db::providers`
//! credentials); an organization holds instances. Neither is removed while it
//! still holds anything: the foreign keys refuse it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};

#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Instance {
    pub id: String,
    #[serde(rename = "organization")]
    pub organization_id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn organizations(pool: &PgPool) -> Result<Vec<Organization>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, created_at, updated_at FROM organizations ORDER BY id")
        .fetch_all(pool)
        .await
}

pub async fn organization(db: impl PgExecutor<'_>, id: &str) -> Result<Option<Organization>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, created_at, updated_at FROM organizations WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn put_organization(db: impl PgExecutor<'_>, id: &str, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO organizations (id, name) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, updated_at = now()",
    )
    .bind(id)
    .bind(name)
    .execute(db)
    .await?;
    Ok(())
}

/// Refused (a foreign-key error) while the organization has instances.
pub async fn delete_organization(db: impl PgExecutor<'_>, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM organizations WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Every instance, or one organization's.
pub async fn instances(pool: &PgPool, organization: Option<&str>) -> Result<Vec<Instance>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, organization_id, name, created_at, updated_at FROM instances
         WHERE $1::text IS NULL OR organization_id = $1 ORDER BY id",
    )
    .bind(organization)
    .fetch_all(pool)
    .await
}

pub async fn instance(db: impl PgExecutor<'_>, id: &str) -> Result<Option<Instance>, sqlx::Error> {
    sqlx::query_as("SELECT id, organization_id, name, created_at, updated_at FROM instances WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Refused (a foreign-key error) for an organization that does not exist.
pub async fn put_instance(
    db: impl PgExecutor<'_>,
    id: &str,
    organization: &str,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO instances (id, organization_id, name) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET organization_id = EXCLUDED.organization_id, name = EXCLUDED.name,
             updated_at = now()",
    )
    .bind(id)
    .bind(organization)
    .bind(name)
    .execute(db)
    .await?;
    Ok(())
}

/// Refused (a foreign-key error) while the instance has projects; its own
/// provider keys go with it.
pub async fn delete_instance(db: impl PgExecutor<'_>, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM instances WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
