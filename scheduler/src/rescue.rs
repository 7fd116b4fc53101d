//! Jobs whose lease ran out: their worker was killed or hung past the provider
//! timeout. They return to the queue (the relay publishes them) or, out of
//! attempts, fail with a clear error.

use electrons_domain::db;
use sqlx::PgPool;

pub async fn run(pool: &PgPool, batch: i64) {
    loop {
        match db::jobs::rescue_expired(pool, batch).await {
            Ok(rescued) => {
                if rescued.requeued + rescued.failed > 0 {
                    tracing::warn!(
                        requeued = rescued.requeued,
                        failed = rescued.failed,
                        "rescued jobs with expired leases"
                    );
                }
                if (rescued.requeued + rescued.failed) < batch as u64 {
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
