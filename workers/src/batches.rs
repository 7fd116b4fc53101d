//! The two statements every job runs — its claim and its success — grouped across
//! the jobs in flight in this process (see `electrons_domain::batch`).

use std::{collections::HashMap, sync::Arc, time::Duration};

use electrons_domain::{
    batch::{Batcher, Stopped},
    db::{self, jobs::Success},
    ids::JobId,
    job::Job,
};
use sqlx::PgPool;

const MAX_BATCH: usize = 256;
/// Statements of each kind in flight at once; more would only queue in PostgreSQL.
const PARALLEL: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("database: {0}")]
    Db(Arc<sqlx::Error>),
    #[error(transparent)]
    Stopped(#[from] Stopped),
}

pub struct Batches {
    claims: Batcher<(JobId, i32, Duration), Option<Job>, sqlx::Error>,
    successes: Batcher<Success, bool, sqlx::Error>,
}

impl Batches {
    pub fn start(pool: &PgPool) -> Self {
        let claim_pool = pool.clone();
        let claims = Batcher::start(MAX_BATCH, PARALLEL, move |messages: Vec<(JobId, i32, Duration)>| {
            let pool = claim_pool.clone();
            async move {
                let lease = messages.iter().map(|m| m.2).max().unwrap_or_default();
                let pairs: Vec<(JobId, i32)> = messages.iter().map(|(id, attempt, _)| (*id, *attempt)).collect();
                let jobs = db::jobs::claim_many(&pool, &pairs, lease).await?;
                let mut claimed: HashMap<JobId, Job> = jobs.into_iter().map(|job| (job.id, job)).collect();
                // The first message for a job gets it; a duplicate in the same batch gets nothing.
                Ok(pairs.iter().map(|(id, _)| claimed.remove(id)).collect())
            }
        });
        let success_pool = pool.clone();
        let successes = Batcher::start(MAX_BATCH, PARALLEL, move |runs: Vec<Success>| {
            let pool = success_pool.clone();
            async move {
                let done = db::jobs::succeed_many(&pool, &runs).await?;
                // A run that lost its job (canceled, taken over) still made its call.
                let lost: Vec<(JobId, &serde_json::Value)> = runs
                    .iter()
                    .filter(|run| !done.contains(&run.run.id))
                    .filter_map(|run| Some((run.run.id, run.call.as_ref()?)))
                    .collect();
                if let Err(error) = db::jobs::record_calls(&pool, &lost).await {
                    tracing::warn!(%error, "could not count the provider calls of runs that lost their job");
                }
                Ok(runs.iter().map(|run| done.contains(&run.run.id)).collect())
            }
        });
        Self { claims, successes }
    }

    pub async fn claim(&self, id: JobId, attempt: i32, lease: Duration) -> Result<Option<Job>, BatchError> {
        self.claims.call((id, attempt, lease)).await?.map_err(BatchError::Db)
    }

    pub async fn succeed(&self, run: Success) -> Result<bool, BatchError> {
        self.successes.call(run).await?.map_err(BatchError::Db)
    }
}
