//! PostgreSQL: connecting (creating the database if needed), migrating, and the
//! named queries of each table in its own file.

pub mod answers;
pub mod api_keys;
pub mod audit;
pub mod budgets;
pub mod feedback;
pub mod instance_budgets;
pub mod jobs;
pub mod listener;
pub mod models;
pub mod operations;
pub mod outputs;
pub mod polls;
pub mod projects;
pub mod providers;
pub mod rate_limits;
pub mod stats;
pub mod stream_deltas;
pub mod tenants;
pub mod usage;
pub mod users;
pub mod webhook_deliveries;
pub mod webhook_secrets;

use std::{str::FromStr, time::Duration};

use backon::{ExponentialBuilder, Retryable};
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    ConnectOptions, Connection, PgConnection, PgPool,
};

use crate::config::DatabaseSettings;

/// Joined into statements whose loss in a database crash is harmless, so their
/// commit does not wait for the WAL flush: a lost claim means the redelivered
/// message claims again (a webhook is then sent again under the same
/// `webhook-id`); a lost publish mark means one duplicate message, which the
/// claim drops. Submits, outcomes and attempt records commit synchronously.
const ASYNC_COMMIT: &str = "(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit";

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Connects a pool, creating the database first if it does not exist. Start-up
/// retries for a while so a process started together with PostgreSQL waits for it.
pub async fn connect(settings: &DatabaseSettings) -> Result<PgPool, DbError> {
    let options = PgConnectOptions::from_str(&settings.url)?.log_statements(tracing::log::LevelFilter::Trace);
    let attempt = || async {
        ensure_database(&options).await?;
        PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
    };
    let pool = attempt
        .retry(
            ExponentialBuilder::default()
                .with_max_delay(Duration::from_secs(2))
                .with_max_times(8),
        )
        .notify(|error, delay| tracing::warn!(%error, ?delay, "database not reachable yet; retrying"))
        .await?;
    Ok(pool)
}

pub async fn migrate(pool: &PgPool) -> Result<(), DbError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

async fn ensure_database(options: &PgConnectOptions) -> Result<(), sqlx::Error> {
    let Some(name) = options.get_database().map(str::to_owned) else {
        return Ok(());
    };
    let mut admin: PgConnection = options.clone().database("postgres").connect().await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&name)
        .fetch_one(&mut admin)
        .await?;
    if !exists {
        let statement = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
        match sqlx::query(&statement).execute(&mut admin).await {
            Ok(_) => tracing::info!(database = %name, "created database"),
            // Another process created it between our check and our CREATE.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e),
        }
    }
    admin.close().await
}

/// Runs a batched statement again when PostgreSQL picked it as a deadlock
/// victim. Batches of claims, successes and publish marks lock the same job
/// rows in whatever order their joins visit them, so two can deadlock under
/// load; a victim changed nothing, and running it again is the standard
/// remedy. Without it, a lost success batch left its jobs running until their
/// leases expired.
pub async fn retrying_deadlocks<T, F, Fut>(statement: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    statement
        .retry(
            ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(5))
                .with_max_delay(Duration::from_millis(100))
                .with_max_times(5)
                .with_jitter(),
        )
        .when(is_deadlock)
        .await
}

fn is_deadlock(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.code().as_deref() == Some("40P01"))
}
