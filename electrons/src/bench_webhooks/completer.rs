//! Job completions made as a worker makes them: jobs already claimed
//! (running) are finished through the worker's own `Batches`, whose success
//! statement's trigger writes the webhook delivery in the same transaction,
//! and the completion is announced by the same `Announcer`. Only the submit and the
//! provider call in front are left out, so the bench's CPU goes to delivery.

use std::time::Duration;

use electrons_domain::{
    config::Settings,
    db::{
        self,
        jobs::{Inserted, NewJob, Success},
    },
    ids::JobId,
    job::{Job, JobStatus, Modality, Priority},
    queue::{self, Publisher, Topology},
    webhook::Announcer,
    Shutdown,
};
use electrons_workers::Batches;
use lapin::{options::QueueDeclareOptions, types::FieldTable};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

/// Rows per insert and claim while preparing.
const CHUNK: usize = 1000;
/// Long enough that neither the relay nor the lease rescue touches a prepared job during the run.
const OUT_OF_THE_WAY: Duration = Duration::from_secs(24 * 3600);

pub struct Completer {
    running: Vec<Job>,
    batches: Batches,
    announcer: Announcer,
}

impl Completer {
    /// Inserts `total` jobs with a webhook to `hook` and claims them, so each
    /// is running and waits only for its success.
    pub async fn prepare(
        settings: &Settings,
        pool: &PgPool,
        project: Uuid,
        hook: &str,
        total: u64,
        shutdown: &Shutdown,
    ) -> anyhow::Result<Self> {
        let mut running = Vec::with_capacity(total as usize);
        let mut remaining = total as usize;
        while remaining > 0 {
            let n = remaining.min(CHUNK);
            remaining -= n;
            let jobs: Vec<NewJob> = (0..n).map(|_| new_job(project, hook)).collect();
            let inserted = db::jobs::insert_many(pool, &jobs).await?;
            anyhow::ensure!(
                inserted.iter().all(|i| matches!(i, Inserted::Created(_))),
                "preparing the bench's jobs"
            );
            let pairs: Vec<(JobId, i32)> = jobs.iter().map(|job| (job.id, 0)).collect();
            let claimed = db::jobs::claim_many(pool, &pairs, OUT_OF_THE_WAY).await?;
            anyhow::ensure!(claimed.len() == n, "claimed {} of {n} prepared jobs", claimed.len());
            running.extend(claimed);
        }

        let publisher = Publisher::start(
            &settings.broker.url,
            Topology::new(&settings.broker),
            "bench-completer",
            shutdown.clone(),
        );
        anyhow::ensure!(
            publisher.wait_connected(Duration::from_secs(10)).await,
            "could not connect to the broker"
        );
        Ok(Self {
            running,
            batches: Batches::start(pool),
            announcer: Announcer::start(pool.clone(), publisher),
        })
    }

    /// Finishes the jobs on a fixed timetable of `rate` per second, each as a
    /// worker does: commit the success, then announce it.
    pub async fn complete_at_rate(self, rate: u64) -> anyhow::Result<()> {
        let Self {
            running,
            batches,
            announcer,
        } = self;
        let batches = std::sync::Arc::new(batches);
        let start = tokio::time::Instant::now();
        let mut tasks = Vec::with_capacity(running.len());
        for (n, mut job) in running.into_iter().enumerate() {
            tokio::time::sleep_until(start + Duration::from_secs_f64(n as f64 / rate as f64)).await;
            let (batches, announcer) = (batches.clone(), announcer.clone());
            tasks.push(tokio::spawn(async move {
                let run = Success {
                    run: job.fence(),
                    output: json!({ "text": "webhook bench" }),
                    metrics: json!({}),
                    keep_files_for: None,
                    // As a worker's success carries the call that produced it.
                    call: Some(json!({ "attempt": job.attempt, "outcome": "answered", "billed": true })),
                };
                let done = batches.succeed(run).await?;
                anyhow::ensure!(done, "job {} was no longer running", job.id);
                job.status = JobStatus::Succeeded;
                announcer.job_changed(&job);
                anyhow::Ok(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        Ok(())
    }
}

fn new_job(project: Uuid, hook: &str) -> NewJob {
    NewJob {
        id: JobId::new(),
        project_id: project,
        model: "gpt-4o-mini".into(),
        modality: Modality::Text,
        provider: "openai".into(),
        priority: Priority::Normal,
        input: json!({ "prompt": "webhook bench", "max_tokens": 16 }),
        metadata: json!({}),
        webhook: Some(hook.into()),
        webhook_events_filter: vec!["completed".into()],
        max_attempts: 5,
        idempotency_key: None,
        request_hash: String::new(),
        notify_on_finish: false,
        fallbacks: Vec::new(),
        webhook_format: None,
        relay_after: OUT_OF_THE_WAY,
        budget_reserve_usd: None,
        traceparent: None,
    }
}

/// Waits until the deliverer process consumes the webhook queue.
pub async fn wait_for_consumer(settings: &Settings) -> anyhow::Result<()> {
    let name = Topology::new(&settings.broker).webhook_queue();
    let connection = queue::connect(&settings.broker.url, "bench").await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        // A passive declare of a queue not declared yet closes its channel: one per try.
        let channel = connection.create_channel().await?;
        let declared = channel
            .queue_declare(
                name.as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await;
        if matches!(&declared, Ok(queue) if queue.consumer_count() > 0) {
            let _ = connection.close(200, "ready".into()).await;
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the deliverer did not start consuming"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
