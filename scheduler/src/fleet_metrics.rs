//! Reads the rate limits' state from PostgreSQL for the metrics
//! (`electrons_domain::prometheus::fleet`): one statement over a small table
//! every `EVERY_TICKS` ticks, and nothing when this process records no metrics.

use electrons_domain::{db, prometheus};
use sqlx::PgPool;

/// Ticks between readings (10 s at the default 500 ms tick).
pub const EVERY_TICKS: u64 = 20;

pub async fn run(pool: &PgPool) {
    if !prometheus::enabled() {
        return;
    }
    match db::rate_limits::list(pool).await {
        Ok(limits) => limits.iter().for_each(prometheus::fleet::rate_limit),
        Err(error) => tracing::warn!(%error, "could not read the rate limits for the metrics"),
    }
}
