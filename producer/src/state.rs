use std::sync::Arc;

use electrons_domain::{catalog::CatalogHandle, config::Settings, queue::Publisher};
use sqlx::PgPool;

use crate::{auth::KeyCache, dispatch::Dispatcher, finished::FinishedJobs, inserts::Inserts};

/// Everything a request handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub catalog: CatalogHandle,
    pub publisher: Publisher,
    pub dispatcher: Dispatcher,
    pub finished: FinishedJobs,
    pub inserts: Inserts,
    pub keys: KeyCache,
    pub settings: Arc<Settings>,
}
