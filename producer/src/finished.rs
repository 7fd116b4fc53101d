//! Wakes `Prefer: wait` requests: PostgreSQL notifies `de_job_finished` when a job
//! some client waits for reaches a terminal state (see the jobs_finished trigger),
//! and every producer fans that out to its waiting requests.

use std::time::Duration;

use electrons_domain::Shutdown;
use sqlx::{postgres::PgListener, PgPool};
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
    loop {
        let result = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(CHANNEL).await?;
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok::<_, sqlx::Error>(()),
                    notification = listener.recv() => {
                        if let Ok(id) = notification?.payload().parse::<Uuid>() {
                            let _ = tx.send(id);
                        }
                    }
                }
            }
        }
        .await;
        match result {
            Ok(()) => return,
            Err(error) => {
                // Waiting requests also poll, so a gap here only slows them down.
                tracing::warn!(%error, "job-finished listener failed; reconnecting");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}
