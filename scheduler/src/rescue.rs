//! Jobs whose lease ran out: their worker was killed or hung past the provider
//! timeout. They return to the queue (the relay publishes them) or, out of
//! attempts, fail with a clear error. Likewise webhook deliveries whose
//! deliverer died mid-attempt: due again at once.

use electrons_domain::db;
use sqlx::PgPool;

pub async fn run(pool: &PgPool, batch: i64) {
    loop {
        match db::jobs::rescue_expired(pool, batch).await {
            Ok(rescued) => {
                let total = rescued.requeued + rescued.failed + rescued.repolled;
                if total > 0 {
                    tracing::warn!(
                        requeued = rescued.requeued,
                        failed = rescued.failed,
                        repolled = rescued.repolled,
                        "rescued jobs with expired leases"
                    );
                }
                if total < batch as u64 {
                    return;
                }
            }
            Err(error) => {
                tracing::error!(%error, "lease rescue failed");
                return;
            }
        }
    }
}

pub async fn run_deliveries(pool: &PgPool, batch: i64) {
    loop {
        match db::webhook_deliveries::rescue_expired(pool, batch).await {
            Ok(rescued) => {
                if rescued > 0 {
                    tracing::warn!(rescued, "rescued webhook deliveries with expired leases");
                }
                if rescued < batch as u64 {
                    return;
                }
            }
            Err(error) => {
                tracing::error!(%error, "webhook lease rescue failed");
                return;
            }
        }
    }
}
