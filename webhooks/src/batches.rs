//! The two statements every delivery runs — its claim and its attempt record —
//! grouped across the deliveries in flight in this process.

use std::{collections::HashMap, sync::Arc, time::Duration};

use electrons_domain::{
    batch::{Batcher, Stopped},
    db::webhook_deliveries::{self, AttemptRecord, ClaimedDelivery},
    queue::DeliveryMessage,
};
use sqlx::PgPool;

const MAX_BATCH: usize = 256;
const PARALLEL: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("database: {0}")]
    Db(Arc<sqlx::Error>),
    #[error(transparent)]
    Stopped(#[from] Stopped),
}

pub struct Batches {
    claims: Batcher<(DeliveryMessage, Duration), Option<ClaimedDelivery>, sqlx::Error>,
    records: Batcher<AttemptRecord, bool, sqlx::Error>,
}

impl Batches {
    pub fn start(pool: &PgPool) -> Self {
        let claim_pool = pool.clone();
        let claims = Batcher::start(MAX_BATCH, PARALLEL, move |items: Vec<(DeliveryMessage, Duration)>| {
            let pool = claim_pool.clone();
            async move {
                let lease = items.iter().map(|(_, lease)| *lease).max().unwrap_or_default();
                let messages: Vec<DeliveryMessage> = items.into_iter().map(|(message, _)| message).collect();
                let claimed = webhook_deliveries::claim_many(&pool, &messages, lease).await?;
                let mut claimed: HashMap<_, ClaimedDelivery> =
                    claimed.into_iter().map(|c| ((c.job.id, c.event), c)).collect();
                // The first message for a delivery gets it; a duplicate in the same batch gets nothing.
                Ok(messages.iter().map(|m| claimed.remove(&(m.job_id, m.event))).collect())
            }
        });
        let record_pool = pool.clone();
        let records = Batcher::start(MAX_BATCH, PARALLEL, move |records: Vec<AttemptRecord>| {
            let pool = record_pool.clone();
            async move { webhook_deliveries::record_attempts(&pool, &records).await }
        });
        Self { claims, records }
    }

    pub async fn claim(
        &self,
        message: DeliveryMessage,
        lease: Duration,
    ) -> Result<Option<ClaimedDelivery>, BatchError> {
        self.claims.call((message, lease)).await?.map_err(BatchError::Db)
    }

    /// `false` when the delivery was no longer held by this claim.
    pub async fn record(&self, record: AttemptRecord) -> Result<bool, BatchError> {
        self.records.call(record).await?.map_err(BatchError::Db)
    }
}
