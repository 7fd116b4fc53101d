//! Monthly budgets per project, and what each month spent and holds reserved.
//! Reserving and settling happen in the database, in the statements that
//! insert and finish jobs (the budgets migration's triggers); this module sets
//! budgets, reads them, and recognises a refused reservation.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{postgres::PgDatabaseError, PgExecutor, PgPool};
use uuid::Uuid;

/// The SQLSTATE the reservation trigger raises when a job does not fit.
const EXCEEDED: &str = "DE402";
/// Where producers hear that a budget was set or removed.
pub const CHANNEL: &str = "de_budgets";

/// A project's budget and its current month (UTC).
#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Budget {
    pub project_id: Uuid,
    pub monthly_usd: f64,
    pub month: NaiveDate,
    pub spent_usd: f64,
    pub reserved_usd: f64,
    pub updated_at: DateTime<Utc>,
}

/// Why a job was refused: which budget, what its month holds and what the
/// job needed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exceeded {
    pub scope: BudgetScope,
    /// The instance, when it is the instance's budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    pub budget_usd: f64,
    pub spent_usd: f64,
    pub reserved_usd: f64,
    pub required_usd: f64,
    pub month: NaiveDate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetScope {
    Project,
    Instance,
}

impl Exceeded {
    /// Why `project`'s job needing `required` did not fit (a batched insert
    /// skips such a row without saying): its project's month if that has not
    /// room, else its instance's.
    pub async fn explain(pool: &PgPool, project: Uuid, required: f64) -> Result<Self, sqlx::Error> {
        if let Some(budget) = get(pool, project).await? {
            if budget.spent_usd + budget.reserved_usd + required > budget.monthly_usd {
                return Ok(Self {
                    scope: BudgetScope::Project,
                    instance: None,
                    budget_usd: budget.monthly_usd,
                    spent_usd: budget.spent_usd,
                    reserved_usd: budget.reserved_usd,
                    required_usd: required,
                    month: budget.month,
                });
            }
        }
        let instance = super::instance_budgets::of_project(pool, project).await?;
        Ok(Self {
            scope: BudgetScope::Instance,
            budget_usd: instance.as_ref().map_or(0.0, |b| b.monthly_usd),
            spent_usd: instance.as_ref().map_or(0.0, |b| b.spent_usd),
            reserved_usd: instance.as_ref().map_or(0.0, |b| b.reserved_usd),
            required_usd: required,
            month: instance.as_ref().map_or_else(|| Utc::now().date_naive(), |b| b.month),
            instance: instance.map(|b| b.instance_id),
        })
    }
}

/// The refusal a job insert failed with, if that is why it failed.
pub fn exceeded(error: &sqlx::Error) -> Option<Exceeded> {
    let error = error.as_database_error()?.try_downcast_ref::<PgDatabaseError>()?;
    if error.code() != EXCEEDED {
        return None;
    }
    serde_json::from_str(error.detail()?).ok()
}

const SELECT: &str = "SELECT b.project_id, b.monthly_usd::float8 AS monthly_usd, m.month,
        COALESCE(u.spent_usd, 0)::float8 AS spent_usd, COALESCE(u.reserved_usd, 0)::float8 AS reserved_usd,
        b.updated_at
    FROM budgets b
    CROSS JOIN (SELECT date_trunc('month', now() AT TIME ZONE 'UTC')::date AS month) m
    LEFT JOIN budget_months u ON u.project_id = b.project_id AND u.month = m.month";

pub async fn get(db: impl PgExecutor<'_>, project: Uuid) -> Result<Option<Budget>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE b.project_id = $1"))
        .bind(project)
        .fetch_optional(db)
        .await
}

pub async fn list(pool: &PgPool) -> Result<Vec<Budget>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} ORDER BY b.project_id"))
        .fetch_all(pool)
        .await
}

/// Sets (or replaces) a project's monthly budget. Lowering it below what the
/// month spent refuses new jobs; it never cancels running ones.
pub async fn set(db: impl PgExecutor<'_>, project: Uuid, monthly_usd: f64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO budgets (project_id, monthly_usd) VALUES ($1, $2::float8::numeric)
         ON CONFLICT (project_id) DO UPDATE SET monthly_usd = EXCLUDED.monthly_usd, updated_at = now()",
    )
    .bind(project)
    .bind(monthly_usd)
    .execute(db)
    .await?;
    Ok(())
}

/// Removes a project's budget; `false` if it had none. Months already spent stay.
pub async fn delete(db: impl PgExecutor<'_>, project: Uuid) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM budgets WHERE project_id = $1")
        .bind(project)
        .execute(db)
        .await?;
    Ok(deleted.rows_affected() > 0)
}

/// Every project with a budget of its own or in an instance with one, for
/// the producers' cache.
pub async fn budgeted_projects(pool: &PgPool) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT project_id FROM budgets
         UNION SELECT p.id FROM projects p JOIN instance_budgets b ON b.instance_id = p.instance_id",
    )
    .fetch_all(pool)
    .await
}

/// What came of asking a budget for more before a job's next billed call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extension {
    /// The job reserved nothing (no budget when it was submitted), or its
    /// project's budget is gone.
    NotBudgeted,
    Extended,
    /// The month has not that much left.
    Exceeded,
}

/// Reserves `usd` more for a job about to make another billed call (its
/// submit reserved one call's worst case): in one statement, only if the
/// month still has it, as at submit.
pub async fn extend(pool: &PgPool, job: Uuid, usd: f64) -> Result<Extension, sqlx::Error> {
    // Both the project's and the instance's month, or neither (the migration's `budget_extend`).
    let outcome: String = sqlx::query_scalar("SELECT budget_extend($1, $2::float8::numeric)")
        .bind(job)
        .bind(usd)
        .fetch_one(pool)
        .await?;
    Ok(match outcome.as_str() {
        "extended" => Extension::Extended,
        "exceeded" => Extension::Exceeded,
        _ => Extension::NotBudgeted,
    })
}
