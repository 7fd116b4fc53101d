//! Monthly budgets per instance: every project of the instance reserves from
//! it as well as from its own (the instance budgets migration's triggers).
//! This module sets, reads and removes them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::PgExecutor;
use uuid::Uuid;

/// An instance's budget and its current month (UTC).
#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct InstanceBudget {
    #[serde(rename = "instance")]
    pub instance_id: String,
    pub monthly_usd: f64,
    pub month: NaiveDate,
    pub spent_usd: f64,
    pub reserved_usd: f64,
    pub updated_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT b.instance_id, b.monthly_usd::float8 AS monthly_usd, m.month,
        COALESCE(u.spent_usd, 0)::float8 AS spent_usd, COALESCE(u.reserved_usd, 0)::float8 AS reserved_usd,
        b.updated_at
    FROM instance_budgets b
    CROSS JOIN (SELECT date_trunc('month', now() AT TIME ZONE 'UTC')::date AS month) m
    LEFT JOIN instance_budget_months u ON u.instance_id = b.instance_id AND u.month = m.month";

pub async fn get(db: impl PgExecutor<'_>, instance: &str) -> Result<Option<InstanceBudget>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE b.instance_id = $1"))
        .bind(instance)
        .fetch_optional(db)
        .await
}

/// The budget of the instance `project` is in, if it has one.
pub async fn of_project(db: impl PgExecutor<'_>, project: Uuid) -> Result<Option<InstanceBudget>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE b.instance_id = (SELECT instance_id FROM projects WHERE id = $1)"
    ))
    .bind(project)
    .fetch_optional(db)
    .await
}

/// Sets (or replaces) an instance's monthly budget.
pub async fn set(db: impl PgExecutor<'_>, instance: &str, monthly_usd: f64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO instance_budgets (instance_id, monthly_usd) VALUES ($1, $2::float8::numeric)
         ON CONFLICT (instance_id) DO UPDATE SET monthly_usd = EXCLUDED.monthly_usd, updated_at = now()",
    )
    .bind(instance)
    .bind(monthly_usd)
    .execute(db)
    .await?;
    Ok(())
}

/// Removes an instance's budget; `false` if it had none. Months already spent stay.
pub async fn delete(db: impl PgExecutor<'_>, instance: &str) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM instance_budgets WHERE instance_id = $1")
        .bind(instance)
        .execute(db)
        .await?;
    Ok(deleted.rows_affected() > 0)
}
