//! Wakes requests that wait on a job. PostgreSQL notifies `de_job_finished`
//! when a job some client waits for reaches a terminal state (the
//! jobs_finished trigger), and `de_job_progressed` when such a job starts
//! running (jobs_started) or a streaming job has more text
//! (job_stream_deltas_written); every producer fans each channel out to its
//! waiting requests.

use electrons_domain::{
    db::listener::{self, Heard},
    Shutdown,
};
use sqlx::PgPool;
use tokio::sync::broadcast;
use uuid::Uuid;

pub const FINISHED: &str = "de_job_finished";
pub const PROGRESSED: &str = "de_job_progressed";

/// The ids of jobs one channel announces.
#[derive(Clone)]
pub struct JobNotices {
    tx: broadcast::Sender<Uuid>,
}

impl JobNotices {
    /// Subscribe before committing (or reading) the job, so its notification cannot be missed.
    pub fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.tx.subscribe()
    }
}

/// Listens on both channels, on one connection: `(finished, progressed)`.
pub fn start(pool: PgPool, shutdown: Shutdown) -> (JobNotices, JobNotices) {
    let finished = broadcast::channel(4096).0;
    let progressed = broadcast::channel(4096).0;
    let notices = (
        JobNotices { tx: finished.clone() },
        JobNotices { tx: progressed.clone() },
    );
    tokio::spawn(async move {
        // Waiting requests also poll, so a notification lost while reconnecting
        // only slows them down.
        listener::follow_channels(
            pool,
            &[FINISHED, PROGRESSED],
            "job notices",
            shutdown,
            |channel, heard| {
                let Heard::Changed(payload) = heard else {
                    return;
                };
                let Ok(id) = payload.parse::<Uuid>() else {
                    return;
                };
                let _ = match channel {
                    FINISHED => finished.send(id),
                    _ => progressed.send(id),
                };
            },
        )
        .await;
    });
    notices
}
