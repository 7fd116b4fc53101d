//! Following one job as it runs, for `GET /v1/jobs/{id}/events` and the
//! compatible APIs' streams: its status as it changes, the pieces of a
//! streaming job's text in order, and its end. Woken by the job's notices
//! (`job_notices`), and reading the job once a second besides, so a lost
//! notice only delays an event. Ends when the job does or the reader goes.

use std::time::Duration;

use electrons_domain::{
    db::{self, stream_deltas::Delta},
    ids::JobId,
    job::{Job, JobStatus},
    job_view::JobView,
};
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

use crate::{routes::jobs::view, state::AppState};

/// How often the job is read when nothing announced a change.
const POLL: Duration = Duration::from_secs(1);
/// Events a slow reader may fall behind by before the follower waits for it.
const BACKLOG: usize = 256;

/// What happened to the job, in the order it did.
pub enum JobEvent {
    /// It is queued or running (again: a retry is queued once more).
    Status { status: JobStatus, attempt: i32 },
    /// A piece of its text.
    Delta(Delta),
    /// The text starts again: a new attempt (the provider's stream broke off
    /// and the model's retry policy sends the call again) or a structured
    /// answer asked for again.
    Restarted { attempt: i32 },
    /// It ended; the job as `GET /v1/jobs/{id}` reads it.
    Finished(Box<JobView>),
}

/// Follows the job from the piece after `after` (its first for `None`).
pub fn follow(state: AppState, id: JobId, after: Option<i64>) -> mpsc::Receiver<JobEvent> {
    let (tx, rx) = mpsc::channel(BACKLOG);
    tokio::spawn(async move {
        let mut follower = Follower {
            state,
            id,
            tx,
            after,
            attempt: None,
            told: None,
        };
        follower.run().await
    });
    rx
}

struct Follower {
    state: AppState,
    id: JobId,
    tx: mpsc::Sender<JobEvent>,
    /// The last piece sent.
    after: Option<i64>,
    /// The attempt that wrote it.
    attempt: Option<i32>,
    /// The last status sent.
    told: Option<(JobStatus, i32)>,
}

/// Why following stopped early: the reader went.
struct Gone;

impl Follower {
    async fn run(&mut self) {
        // Subscribed before the first read, so no change after it goes unheard.
        let mut finished = self.state.finished.subscribe();
        let mut progressed = self.state.progressed.subscribe();
        let pool = self.state.pool.clone();
        if let Some(after) = self.after {
            self.attempt = db::stream_deltas::attempt_of(&pool, self.id.0, after)
                .await
                .ok()
                .flatten();
        }
        let mut announced = false;
        loop {
            let job = match db::jobs::get_any(&pool, self.id).await {
                Ok(Some(job)) => job,
                Ok(None) => return,
                Err(error) => {
                    tracing::debug!(%error, "could not read a followed job; trying again");
                    tokio::select! {
                        _ = tokio::time::sleep(POLL) => continue,
                        // Nobody follows any more.
                        _ = self.tx.closed() => return,
                    }
                }
            };
            if !announced && !job.status.is_terminal() {
                // Its start and finish then wake this follower (a job that
                // streams is followed from its submit).
                announced = job.followed == Some(true) || db::jobs::follow(&pool, self.id).await.is_ok();
            }
            match self.tell(job).await {
                Ok(true) => return,
                Ok(false) => {}
                Err(Gone) => return,
            }
            // Until the job may have changed: a piece of text is read at once;
            // its status is read when it finished, a piece says it runs, or a second passed.
            let deadline = tokio::time::Instant::now() + POLL;
            loop {
                let woke = tokio::select! {
                    heard = finished.recv() => Wake::from(heard, self.id.0, Wake::Job),
                    heard = progressed.recv() => Wake::from(heard, self.id.0, Wake::Progress),
                    _ = tokio::time::sleep_until(deadline) => Wake::Job,
                    _ = self.tx.closed() => return,
                };
                match woke {
                    Wake::Other => continue,
                    Wake::Job => break,
                    Wake::Deaf => {
                        // The listener is gone (shutting down): read once a second.
                        tokio::time::sleep_until(deadline).await;
                        break;
                    }
                    Wake::Progress => {
                        if self.send_text().await.is_err() {
                            return;
                        }
                        if self.told.is_some_and(|(status, _)| status == JobStatus::Running) {
                            continue;
                        }
                        break;
                    }
                }
            }
        }
    }

    /// Sends what changed in `job`; true once it has ended.
    async fn tell(&mut self, job: Job) -> Result<bool, Gone> {
        let now = (job.status, job.attempt);
        if !job.status.is_terminal() && self.told != Some(now) {
            self.told = Some(now);
            self.send(JobEvent::Status {
                status: job.status,
                attempt: job.attempt,
            })
            .await?;
        }
        // Read after the job: a job's last piece is committed before its end.
        self.send_text().await?;
        if job.status.is_terminal() {
            let view = view(&self.state, job).await;
            self.send(JobEvent::Finished(Box::new(view))).await?;
            return Ok(true);
        }
        Ok(false)
    }

    async fn send_text(&mut self) -> Result<(), Gone> {
        let deltas = match db::stream_deltas::after(&self.state.pool, self.id.0, self.after).await {
            Ok(deltas) => deltas,
            Err(error) => {
                // Read again at the next wake.
                tracing::debug!(%error, "could not read a followed job's text");
                return Ok(());
            }
        };
        for delta in deltas {
            // A new attempt's text, or an empty piece (a call made again
            // within the attempt), starts the text again.
            let again = delta.text.is_empty() || self.attempt.is_some_and(|attempt| attempt != delta.attempt);
            self.attempt = Some(delta.attempt);
            self.after = Some(delta.seq);
            if again {
                self.send(JobEvent::Restarted { attempt: delta.attempt }).await?;
            }
            if !delta.text.is_empty() {
                self.send(JobEvent::Delta(delta)).await?;
            }
        }
        Ok(())
    }

    async fn send(&self, event: JobEvent) -> Result<(), Gone> {
        self.tx.send(event).await.map_err(|_| Gone)
    }
}

/// What woke the follower.
enum Wake {
    /// Its job may have changed status.
    Job,
    /// Its job started, or has more text.
    Progress,
    /// Another job's notice.
    Other,
    /// No more notices will come.
    Deaf,
}

impl Wake {
    fn from(heard: Result<Uuid, broadcast::error::RecvError>, ours: Uuid, wake: Wake) -> Wake {
        match heard {
            Ok(id) if id == ours => wake,
            Ok(_) => Wake::Other,
            // Missed notices may have been ours.
            Err(broadcast::error::RecvError::Lagged(_)) => wake,
            Err(broadcast::error::RecvError::Closed) => Wake::Deaf,
        }
    }
}
