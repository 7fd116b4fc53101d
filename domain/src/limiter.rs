//! Provider token buckets (invariant 4: tokens before calls). The bucket lives in
//! PostgreSQL and is shared by every worker process; each process coalesces its
//! waiting jobs so one round trip grants tokens to many of them, which keeps the
//! hot bucket row from capping throughput. Tokens are only taken for jobs that are
//! waiting right now, so coalescing never lets more requests through than the
//! bucket allows.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

/// Most tokens asked for in one round trip.
const MAX_BATCH: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum LimiterError {
    #[error("rate limiter storage: {0}")]
    Db(#[from] sqlx::Error),
    #[error("token bucket of {provider} unavailable")]
    Unavailable { provider: String },
    #[error("rate limiter stopped")]
    Stopped,
}

type Waiter = oneshot::Sender<Result<(), LimiterError>>;
type Lane = mpsc::UnboundedSender<Waiter>;

#[derive(Clone)]
pub struct Limiter {
    pool: PgPool,
    lanes: Arc<Mutex<HashMap<String, Lane>>>,
}

impl Limiter {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            lanes: Arc::default(),
        }
    }

    /// Waits for one request token of `provider`. Dropping the future gives up the
    /// place in line (a token granted to a waiter that left goes to the next one).
    pub async fn acquire(&self, provider: &str) -> Result<(), LimiterError> {
        let (tx, rx) = oneshot::channel();
        self.lane(provider).send(tx).map_err(|_| LimiterError::Stopped)?;
        rx.await.map_err(|_| LimiterError::Stopped)?
    }

    /// Pauses the provider's bucket for the whole fleet (a 429 with Retry-After).
    pub async fn pause_until(&self, provider: &str, until: DateTime<Utc>) -> Result<(), LimiterError> {
        sqlx::query(
            "UPDATE token_buckets SET paused_until = GREATEST(COALESCE(paused_until, $2), $2),
                    tokens = LEAST(tokens, 0), updated_at = clock_timestamp()
             WHERE provider_id = $1",
        )
        .bind(provider)
        .bind(until)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    fn lane(&self, provider: &str) -> Lane {
        let mut lanes = self.lanes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(lane) = lanes.get(provider) {
            if !lane.is_closed() {
                return lane.clone();
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(drive_lane(self.pool.clone(), provider.to_string(), rx));
        lanes.insert(provider.to_string(), tx.clone());
        tx
    }
}

/// One task per provider and process: collects waiters, takes as many tokens as
/// there are waiters, hands them out in arrival order, sleeps when the bucket is dry.
async fn drive_lane(pool: PgPool, provider: String, mut rx: mpsc::UnboundedReceiver<Waiter>) {
    let mut waiting: VecDeque<Waiter> = VecDeque::new();
    loop {
        if waiting.is_empty() {
            match rx.recv().await {
                Some(w) => waiting.push_back(w),
                None => return,
            }
        }
        while let Ok(w) = rx.try_recv() {
            waiting.push_back(w);
        }
        waiting.retain(|w| !w.is_closed());
        if waiting.is_empty() {
            continue;
        }
        let want = waiting.len().min(MAX_BATCH) as i32;
        let grant: Result<(i32, i32), sqlx::Error> = sqlx::query_as("SELECT granted, wait_ms FROM take_tokens($1, $2)")
            .bind(&provider)
            .bind(want)
            .fetch_one(&pool)
            .await;
        match grant {
            Ok((granted, wait_ms)) => {
                let mut tokens = granted;
                while tokens > 0 {
                    let Some(w) = waiting.pop_front() else { break };
                    if w.send(Ok(())).is_ok() {
                        tokens -= 1;
                    }
                }
                if granted == 0 {
                    // Sleep until a token is due, but wake early to admit newcomers
                    // into the next batch instead of leaving them unseen.
                    tokio::time::sleep(Duration::from_millis(wait_ms.clamp(1, 1000) as u64)).await;
                }
            }
            Err(error) => {
                tracing::warn!(%provider, %error, "token bucket unavailable");
                for w in waiting.drain(..) {
                    let _ = w.send(Err(LimiterError::Unavailable {
                        provider: provider.clone(),
                    }));
                }
            }
        }
    }
}
