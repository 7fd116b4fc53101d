//! Fleet-wide rate limits (invariant 4: tokens before calls). The limits live in
//! PostgreSQL (`rate_limits`, see the third migration) and are shared by every
//! worker process; they meter requests, LLM tokens and concurrent calls.
//!
//! A call *reserves* before it goes out (one request, its estimated tokens, a
//! concurrency lease) and *settles* afterwards (unused tokens back, lease freed).
//! Each process coalesces the jobs waiting on the same limits into one `lane`,
//! so one round trip grants many of them and the hot row does not cap
//! throughput; grants go only to jobs waiting right now, so coalescing never
//! lets more through than the limit allows. `settle` batches the settlements,
//! `observe` feeds the provider's own rate-limit headers back into the limits.
//!
//! A job that would wait longer than the configured maximum is told `Busy` at
//! once, with a time to come back, so it can leave its prefetch slot to jobs of
//! other providers.

mod lane;
mod observe;
mod settle;

use std::{
    collections::HashMap,
    sync::{atomic::AtomicUsize, Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::job::Priority;

pub use observe::{Observation, Window};

#[derive(Debug, thiserror::Error)]
pub enum LimiterError {
    #[error("rate limiter storage: {0}")]
    Db(#[from] sqlx::Error),
    #[error("rate limits of {provider} unavailable")]
    Unavailable { provider: String },
    #[error("the provider's limits are saturated; come back in {retry_in:?}")]
    Busy { retry_in: Duration },
    #[error("rate limiter stopped")]
    Stopped,
}

/// Which limits apply: those of the provider (and of the model on it, if any)
/// and the project's quota, if set.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Scope {
    pub provider: String,
    pub model: String,
    pub project: Uuid,
}

/// What one call reserves.
#[derive(Clone, Debug)]
pub struct Reservation {
    /// Names the concurrency lease; a job's id, so a rerun renews rather than doubles.
    pub holder: Uuid,
    pub priority: Priority,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// A granted reservation. Settle it with the real usage after the call; dropped
/// unsettled, it frees its concurrency lease and keeps the tokens spent.
pub struct Grant {
    holder: Uuid,
    settle_ids: Arc<[String]>,
    input_tokens: u64,
    output_tokens: u64,
    settler: Option<settle::Settler>,
    /// The lane's count of grants whose reservations are still out.
    unsettled: Option<Arc<AtomicUsize>>,
}

impl Grant {
    /// Returns what the call did not use (or charges what it used beyond the estimate).
    pub fn settle(mut self, used_input: u64, used_output: u64) {
        self.send(used_input as i64, used_output as i64);
    }

    /// The provider answered with an error: it wrote nothing, though the
    /// prompt may have counted against the account.
    pub fn settle_unanswered(self) {
        let input = self.input_tokens;
        self.settle(input, 0);
    }

    fn send(&mut self, used_input: i64, used_output: i64) {
        let unsettled = self.unsettled.take();
        let Some(settler) = self.settler.take() else { return };
        if self.settle_ids.is_empty() {
            return;
        }
        settler.settle(
            settle::Settlement {
                ids: self.settle_ids.clone(),
                holder: self.holder,
                input_refund: self.input_tokens as i64 - used_input,
                output_refund: self.output_tokens as i64 - used_output,
            },
            unsettled,
        );
    }
}

impl Drop for Grant {
    fn drop(&mut self) {
        // Usage unknown: keep the whole reservation spent, free the lease.
        let (input, output) = (self.input_tokens as i64, self.output_tokens as i64);
        self.send(input, output);
    }
}

#[derive(Clone)]
pub struct Limiter {
    pool: PgPool,
    max_wait: Duration,
    lanes: Arc<Mutex<HashMap<Scope, lane::Lane>>>,
    settler: settle::Settler,
    observer: observe::Observer,
}

impl Limiter {
    /// `max_wait`: the longest a job should wait in this process for its limits
    /// before it is better off back in the scheduler's hands.
    pub fn new(pool: PgPool, max_wait: Duration) -> Self {
        Self {
            settler: settle::Settler::start(pool.clone()),
            observer: observe::Observer::new(pool.clone()),
            pool,
            max_wait,
            lanes: Arc::default(),
        }
    }

    /// Waits for every limit of `scope` to admit the call. Dropping the future
    /// gives up the place in line. `Busy` means the wait would be too long.
    pub async fn acquire(&self, scope: &Scope, reservation: Reservation) -> Result<Grant, LimiterError> {
        self.lane(scope).acquire(reservation).await
    }

    /// A provider's 429: pauses its limits for the whole fleet until `until`.
    pub async fn pause_until(&self, scope: &Scope, until: DateTime<Utc>) -> Result<(), LimiterError> {
        sqlx::query("SELECT pause_rate_limits($1, $2, $3)")
            .bind(&scope.provider)
            .bind(&scope.model)
            .bind(until)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// What the provider's rate-limit headers said; applied to the shared limits
    /// at most about once a second per scope, at once when the provider says
    /// there is no room left.
    pub fn observe(&self, scope: &Scope, observation: Observation) {
        self.observer.observe(scope, observation);
    }

    fn lane(&self, scope: &Scope) -> lane::Lane {
        let mut lanes = self.lanes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(lane) = lanes.get(scope) {
            if lane.is_open() {
                return lane.clone();
            }
        }
        let lane = lane::Lane::start(self.pool.clone(), scope.clone(), self.max_wait, self.settler.clone());
        lanes.insert(scope.clone(), lane.clone());
        lane
    }
}
