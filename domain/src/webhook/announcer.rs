//! Handing a committed webhook event to delivery. The delivery row already
//! exists (the trigger wrote it with the job's transition); this only makes it
//! reach a consumer at once instead of at the scheduler's next relay. A publish
//! that fails or is never confirmed changes nothing: the row's `publish_at`
//! makes the scheduler publish it.

use std::sync::Arc;

use sqlx::PgPool;

use crate::{
    batch::Batcher,
    db,
    job::{Job, JobStatus, WebhookEvent},
    queue::{DeliveryMessage, Publisher},
};

const MAX_BATCH: usize = 1000;

#[derive(Clone)]
pub struct Announcer {
    publisher: Publisher,
    confirmations: Batcher<DeliveryMessage, (), sqlx::Error>,
}

impl Announcer {
    pub fn start(pool: PgPool, publisher: Publisher) -> Self {
        let confirmations = Batcher::start(MAX_BATCH, 1, move |confirmed: Vec<DeliveryMessage>| {
            let pool = pool.clone();
            async move {
                db::webhook_deliveries::mark_published(&pool, &confirmed).await?;
                Ok(vec![(); confirmed.len()])
            }
        });
        Self {
            publisher,
            confirmations,
        }
    }

    /// Announces the event a job's transition to its current status raised,
    /// if the job has a webhook that asked for it. Returns at once.
    pub fn job_changed(&self, job: &Job) {
        let event = match job.status {
            // Only the first claim starts the job; later ones are retries.
            JobStatus::Running if job.attempt == 1 => WebhookEvent::Start,
            status if status.is_terminal() => WebhookEvent::Completed,
            _ => return,
        };
        if job.webhook.is_none() || !job.webhook_events_filter.iter().any(|e| e == event.as_str()) {
            return;
        }
        self.announce(DeliveryMessage {
            job_id: job.id,
            event,
            claims: 0,
        });
    }

    /// Publishes a delivery that is due now. Returns at once.
    pub fn announce(&self, message: DeliveryMessage) {
        let this = self.clone();
        // Through the publisher, so closing it lets this publish finish first.
        self.publisher.spawn(async move {
            match this.publisher.publish_delivery(&message).await {
                Ok(()) => {
                    // Not recorded means one duplicate from the relay, which the claim drops.
                    if let Ok(Err(error)) = this.confirmations.call(message).await {
                        let error: Arc<sqlx::Error> = error;
                        tracing::debug!(%error, "could not record a delivery's publish");
                    }
                }
                Err(error) => {
                    tracing::warn!(job_id = %message.job_id, %error, "webhook publish not confirmed; the scheduler will relay it");
                }
            }
        });
    }
}
