//! The scheduler makes the guarantees hold when processes or the broker fail:
//! it publishes jobs whose publish was never confirmed (invariant 1) and retries
//! that have come due, and puts back jobs whose worker died holding the lease
//! (invariant 3); the same for webhook deliveries (invariant 5). It also has
//! long-running provider operations polled when due (`polls`) and deletes
//! outputs past their retention (`retention`), and reports the rate limits'
//! state to the metrics (`fleet_metrics`). Any number of schedulers may
//! run: every step locks its rows with `FOR UPDATE SKIP LOCKED`, so none does
//! another's work.

mod fleet_metrics;
mod polls;
mod relay;
mod rescue;
mod retention;
mod webhook_relay;

use electrons_domain::{config::SchedulerSettings, queue::Publisher, storage::ObjectStore, Shutdown};
use sqlx::PgPool;
use tokio::time::MissedTickBehavior;

pub async fn run(
    settings: SchedulerSettings,
    pool: PgPool,
    publisher: Publisher,
    store: ObjectStore,
    shutdown: Shutdown,
) {
    let mut tick = tokio::time::interval(settings.tick);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tracing::info!(tick = ?settings.tick, "scheduler running");
    tokio::spawn(retention::run(
        pool.clone(),
        store,
        settings.tick,
        settings.batch,
        shutdown.clone(),
    ));
    for ticks in 0u64.. {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        if ticks % fleet_metrics::EVERY_TICKS == 0 {
            fleet_metrics::run(&pool).await;
        }
        rescue::run(&pool, settings.batch).await;
        relay::run(&pool, &publisher, settings.batch).await;
        polls::run(&pool, &publisher, settings.batch).await;
        rescue::run_deliveries(&pool, settings.batch).await;
        webhook_relay::run(&pool, &publisher, settings.batch).await;
    }
}
