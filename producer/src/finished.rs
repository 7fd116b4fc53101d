//! Wakes `Prefer: wait` requests: PostgreSQL notifies `de_job_finished` when a job
//! some client waits for reaches a terminal state (see the jobs_finished trigger),
//! and every producer fans that out to its waiting requests.

use electrons_domain::{
    db::listener::{self, Heard},
    Shutdown,
};
use sqlx::PgPool;
use tokio::sync::broadcast;
use uuid::Uuid;

pub const CHANNEL: &str = "de_job_finished";

#[derive(Clone)]
pub struct FinishedJobs {
    tx: broadcast::Sender<Uuid>,
}

impl FinishedJobs {
    pub fn start(pool: PgPool, shutdown: Shutdown) -> Self {
        let (tx, _) = broadcast::channel(4096);
        tokio::spawn(listen(pool, tx.clone(), shutdown));
        Self { tx }
    }

    /// Subscribe before committing the job, so its notification cannot be missed.
    pub fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.tx.subscribe()
    }
}

async fn listen(pool: PgPool, tx: broadcast::Sender<Uuid>, shutdown: Shutdown) {
    // Waiting requests also poll, so a notification lost while reconnecting
    // only slows them down.
    listener::follow(pool, CHANNEL, "job-finished", shutdown, |heard| {
        if let Heard::Changed(payload) = heard {
            if let Ok(id) = payload.parse::<Uuid>() {
                let _ = tx.send(id);
            }
        }
    })
    .await;
}
