//! The scheduler makes the guarantees hold when processes or the broker fail:
//! it publishes jobs whose publish was never confirmed (invariant 1) and retries
//! that have come due, and puts back jobs whose worker died holding the lease
//! (invariant 3); the same for webhook deliveries (invariant 5). Any number of schedulers may run: every step locks its rows
//! with `FOR UPDATE SKIP LOCKED`, so none does another's work.

mod relay;
mod rescue;
mod webhook_relay;

use electrons_domain::{config::SchedulerSettings, queue::Publisher, Shutdown};
use sqlx::PgPool;
use tokio::time::MissedTickBehavior;

pub async fn run(settings: SchedulerSettings, pool: PgPool, publisher: Publisher, shutdown: Shutdown) {
    let mut tick = tokio::time::interval(settings.tick);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tracing::info!(tick = ?settings.tick, "scheduler running");
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        rescue::run(&pool, settings.batch).await;
        relay::run(&pool, &publisher, settings.batch).await;
        rescue::run_deliveries(&pool, settings.batch).await;
        webhook_relay::run(&pool, &publisher, settings.batch).await;
    }
    tracing::info!("scheduler stopped");
}
