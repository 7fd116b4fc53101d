//! Submits in flight are committed together: one INSERT and one WAL flush for
//! all of them (see `electrons_domain::batch`). Each request still answers only
//! after its own row is committed.

use electrons_domain::{
    batch::Batcher,
    db::{self, jobs::Inserted, jobs::NewJob},
};
use sqlx::PgPool;

use crate::error::ApiError;

const MAX_BATCH: usize = 256;
const PARALLEL: usize = 4;

#[derive(Clone)]
pub struct Inserts {
    batcher: Batcher<NewJob, Inserted, sqlx::Error>,
}

impl Inserts {
    pub fn start(pool: PgPool) -> Self {
        let batcher = Batcher::start(MAX_BATCH, PARALLEL, move |jobs: Vec<NewJob>| {
            let pool = pool.clone();
            // Rows of projects under one instance budget lock their project's
            // and the instance's month rows in row order, so two batches can
            // deadlock; PostgreSQL then rolls one back whole, and it is run again.
            async move { db::retrying_deadlocks(|| db::jobs::insert_many(&pool, &jobs)).await }
        });
        Self { batcher }
    }

    pub async fn insert(&self, job: NewJob) -> Result<Inserted, ApiError> {
        match self.batcher.call(job).await {
            Ok(Ok(inserted)) => Ok(inserted),
            Ok(Err(error)) => Err(ApiError::from(error.as_ref())),
            Err(stopped) => Err(ApiError::internal(stopped)),
        }
    }
}
