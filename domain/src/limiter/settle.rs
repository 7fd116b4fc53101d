//! Settlements after provider calls, batched: one round trip returns the unused
//! tokens and frees the concurrency leases of many calls. Fire and forget for
//! the caller, since the job's outcome must not wait on its bookkeeping; a lost
//! settlement only errs on the safe side (tokens stay spent, leases lapse).

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use sqlx::PgPool;
use uuid::Uuid;

use crate::batch::Batcher;

const MAX_BATCH: usize = 512;
const PARALLEL: usize = 2;

pub(super) struct Settlement {
    pub ids: Arc<[String]>,
    pub holder: Uuid,
    pub input_refund: i64,
    pub output_refund: i64,
}

#[derive(Clone)]
pub(super) struct Settler {
    batcher: Batcher<Settlement, (), sqlx::Error>,
}

impl Settler {
    pub(super) fn start(pool: PgPool) -> Self {
        let batcher = Batcher::start(MAX_BATCH, PARALLEL, move |settlements: Vec<Settlement>| {
            let pool = pool.clone();
            async move {
                let rows = settlements.iter().flat_map(|s| s.ids.iter().map(move |id| (id, s)));
                let (mut ids, mut holders, mut inputs, mut outputs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                for (id, s) in rows {
                    ids.push(id.clone());
                    holders.push(s.holder);
                    inputs.push(s.input_refund);
                    outputs.push(s.output_refund);
                }
                sqlx::query("SELECT settle_rate_limits($1, $2, $3, $4)")
                    .bind(&ids)
                    .bind(&holders)
                    .bind(&inputs)
                    .bind(&outputs)
                    .execute(&pool)
                    .await?;
                Ok(vec![(); settlements.len()])
            }
        });
        Self { batcher }
    }

    /// `unsettled` counts down once the settlement is committed (or lost), so
    /// the lane knows when the room it gives back is really there.
    pub(super) fn settle(&self, settlement: Settlement, unsettled: Option<Arc<AtomicUsize>>) {
        let batcher = self.batcher.clone();
        let done = move || {
            if let Some(unsettled) = unsettled {
                unsettled.fetch_sub(1, Ordering::Relaxed);
            }
        };
        // Drop may run outside a runtime (a process shutting down): then the
        // lease simply lapses.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            done();
            return;
        };
        runtime.spawn(async move {
            match batcher.call(settlement).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(%error, "could not settle rate limits; leases will lapse"),
                Err(_) => tracing::debug!("rate limit settler stopped"),
            }
            done();
        });
    }
}
