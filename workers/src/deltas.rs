//! Where a streaming job's text goes while the provider writes it: appended
//! to `job_stream_deltas`, which `GET /v1/jobs/{id}/events` follows. One
//! writer per job, so pieces land in order; whatever arrives while a write is
//! in flight goes in the next one, so a fast provider costs a few writes a
//! job rather than one per token, and the first piece is written at once.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use electrons_domain::db;
use sqlx::PgPool;
use tokio::{sync::Notify, task::JoinHandle};
use uuid::Uuid;

/// A write that failed is tried again this long after.
const RETRY_AFTER: Duration = Duration::from_millis(200);
/// Tries of the last write once the stream ended, before its text is given up
/// (the job's output still holds all of it).
const LAST_TRIES: u32 = 5;

#[derive(Default)]
struct Pending {
    text: String,
    /// The empty piece that says the text starts again is still to be written.
    restart: bool,
    closed: bool,
}

/// The text of one attempt of one job, on its way to the database.
pub struct DeltaSink {
    pending: Arc<Mutex<Pending>>,
    wake: Arc<Notify>,
    writer: JoinHandle<()>,
}

impl DeltaSink {
    pub fn start(pool: PgPool, job_id: Uuid, attempt: i32) -> Self {
        let pending = Arc::new(Mutex::new(Pending::default()));
        let wake = Arc::new(Notify::new());
        let writer = tokio::spawn(write(pool, job_id, attempt, pending.clone(), wake.clone()));
        Self { pending, wake, writer }
    }

    /// Marks that the text starts again from its beginning (an empty piece):
    /// a call made again within the attempt (structured output asked anew).
    pub fn start_again(&self) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.restart = true;
        }
        self.wake.notify_one();
    }

    /// Queues `text` behind what came before. Returns at once.
    pub fn push(&self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Ok(mut pending) = self.pending.lock() {
            pending.text.push_str(text);
        }
        self.wake.notify_one();
    }

    /// Waits until everything pushed is written (or given up on), so the
    /// job's end is committed after its last piece.
    pub async fn finish(self) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.closed = true;
        }
        self.wake.notify_one();
        let _ = self.writer.await;
    }
}

async fn write(pool: PgPool, job_id: Uuid, attempt: i32, pending: Arc<Mutex<Pending>>, wake: Arc<Notify>) {
    let mut failures_since_close = 0;
    loop {
        let (restart, text, closed) = match pending.lock() {
            Ok(mut pending) => (
                std::mem::take(&mut pending.restart),
                std::mem::take(&mut pending.text),
                pending.closed,
            ),
            Err(_) => return,
        };
        if restart {
            if let Err(error) = db::stream_deltas::append(&pool, job_id, attempt, "").await {
                tracing::debug!(%error, "could not mark the job's stream as starting again");
            }
        }
        if text.is_empty() {
            if closed {
                return;
            }
            wake.notified().await;
            continue;
        }
        if let Err(error) = db::stream_deltas::append(&pool, job_id, attempt, &text).await {
            if closed {
                failures_since_close += 1;
                if failures_since_close >= LAST_TRIES {
                    tracing::warn!(%error, "could not write the end of the job's stream; its output holds the whole text");
                    return;
                }
            }
            tracing::debug!(%error, "could not write a piece of the job's stream; trying again");
            // Back in front of what arrived meanwhile, so the order holds.
            if let Ok(mut pending) = pending.lock() {
                let later = std::mem::take(&mut pending.text);
                pending.text = text + &later;
            }
            tokio::time::sleep(RETRY_AFTER).await;
        }
    }
}
