//! Publishing after commit. The HTTP response does not wait for the broker: the
//! job is already durable, and a publish that fails or is never confirmed leaves
//! `publish_at` set, so the scheduler publishes it. Confirmed publishes are
//! recorded in batches to keep one UPDATE per job off the hot path.

use std::time::Duration;

use electrons_domain::{
    db,
    ids::JobId,
    job::{Modality, Priority},
    queue::{JobMessage, Publisher},
    Shutdown,
};
use sqlx::PgPool;
use tokio::sync::mpsc;

const BATCH: usize = 1000;
const BATCH_WINDOW: Duration = Duration::from_millis(20);

#[derive(Clone)]
pub struct Dispatcher {
    publisher: Publisher,
    confirmed: mpsc::Sender<(JobId, i32)>,
}

impl Dispatcher {
    pub fn start(pool: PgPool, publisher: Publisher, shutdown: Shutdown) -> Self {
        let (confirmed, rx) = mpsc::channel(BATCH * 16);
        tokio::spawn(record_confirmations(pool, rx, shutdown));
        Self { publisher, confirmed }
    }

    pub fn dispatch(&self, message: JobMessage, modality: Modality, priority: Priority) {
        let publisher = self.publisher.clone();
        let confirmed = self.confirmed.clone();
        // Through the publisher, so closing it lets this publish finish first.
        self.publisher.spawn(async move {
            match publisher.publish(&message, modality, priority).await {
                Ok(()) => {
                    // If the channel is full the scheduler will publish a duplicate,
                    // which the claim drops: safe, only wasteful.
                    let _ = confirmed.try_send((message.job_id, message.attempt));
                }
                Err(error) => {
                    tracing::warn!(job_id = %message.job_id, %error, "publish not confirmed; the scheduler will relay it");
                }
            }
        });
    }
}

async fn record_confirmations(pool: PgPool, mut rx: mpsc::Receiver<(JobId, i32)>, shutdown: Shutdown) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let first = tokio::select! {
            item = rx.recv() => item,
            _ = shutdown.cancelled() => None,
        };
        let Some(first) = first else { return };
        batch.push(first);
        let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
        while batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(item)) => batch.push(item),
                _ => break,
            }
        }
        if let Err(error) = db::jobs::mark_published(&pool, &batch).await {
            tracing::warn!(%error, jobs = batch.len(), "could not record publish confirmations; the scheduler may publish these again");
        }
        batch.clear();
    }
}
