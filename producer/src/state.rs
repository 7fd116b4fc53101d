use std::sync::Arc;

use electrons_domain::{
    catalog::CatalogHandle,
    config::Settings,
    queue::Publisher,
    storage::ObjectStore,
    webhook::{AddressGuard, Announcer},
};
use sqlx::PgPool;

use crate::{
    auth::KeyCache, budgets::BudgetedProjects, dispatch::Dispatcher, inserts::Inserts, job_notices::JobNotices,
};

/// Everything a request handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub catalog: CatalogHandle,
    pub publisher: Publisher,
    pub dispatcher: Dispatcher,
    /// Hands webhook events the API commits (cancellations, redeliveries) to delivery.
    pub announcer: Announcer,
    /// Which webhook destinations submits may name.
    pub webhook_guard: AddressGuard,
    /// Jobs some request waits for that finished.
    pub finished: JobNotices,
    /// Jobs some request follows or waits for that started, or have more text.
    pub progressed: JobNotices,
    pub inserts: Inserts,
    pub keys: KeyCache,
    pub budgets: BudgetedProjects,
    /// Where outputs are; the local store's links are served here.
    pub store: ObjectStore,
    pub settings: Arc<Settings>,
}
