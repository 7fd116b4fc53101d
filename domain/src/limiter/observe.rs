//! Feeding the provider's own account of its limits (OpenAI's `x-ratelimit-*`,
//! Anthropic's `anthropic-ratelimit-*` headers) back into the shared limits, so
//! an account with less room than configured is not pushed into 429s. Every
//! response carries these headers; applying each one would double the writes
//! on the hot rows, so a scope is written at most once a second, and at once
//! when the provider says there is no room left.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sqlx::PgPool;

use super::Scope;

const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// One metered dimension as the provider reported it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Window {
    /// The account's limit per minute.
    pub limit: Option<f64>,
    /// What is left right now.
    pub remaining: Option<f64>,
    /// Until the bucket is full again (or the window resets).
    pub reset: Option<Duration>,
}

impl Window {
    fn exhausted(&self) -> bool {
        self.remaining.is_some_and(|r| r <= 0.0)
    }

    fn as_array(&self) -> [Option<f64>; 3] {
        [self.limit, self.remaining, self.reset.map(|d| d.as_secs_f64() * 1000.0)]
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Observation {
    pub requests: Option<Window>,
    /// Input and output together (OpenAI's TPM, Anthropic's combined figure).
    pub tokens: Option<Window>,
    pub input_tokens: Option<Window>,
    pub output_tokens: Option<Window>,
}

impl Observation {
    pub fn is_empty(&self) -> bool {
        self.windows().iter().all(Option::is_none)
    }

    fn windows(&self) -> [Option<Window>; 4] {
        [self.requests, self.tokens, self.input_tokens, self.output_tokens]
    }
}

#[derive(Clone)]
pub(super) struct Observer {
    pool: PgPool,
    /// Provider → model → when a report was last written. Looked up on every
    /// response, so the lookup allocates nothing.
    last_sent: Arc<Mutex<HashMap<String, HashMap<String, Instant>>>>,
}

impl Observer {
    pub(super) fn new(pool: PgPool) -> Self {
        Self {
            pool,
            last_sent: Arc::default(),
        }
    }

    pub(super) fn observe(&self, scope: &Scope, observation: Observation) {
        if observation.is_empty() || !self.due(scope, &observation) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let pool = self.pool.clone();
        let (provider, model) = (scope.provider.clone(), scope.model.clone());
        let [requests, tokens, input, output] = observation.windows().map(|w| w.unwrap_or_default().as_array());
        runtime.spawn(async move {
            let applied = sqlx::query("SELECT observe_rate_limits($1, $2, $3, $4, $5, $6)")
                .bind(&provider)
                .bind(&model)
                .bind(requests.to_vec())
                .bind(tokens.to_vec())
                .bind(input.to_vec())
                .bind(output.to_vec())
                .execute(&pool)
                .await;
            if let Err(error) = applied {
                tracing::warn!(%provider, %error, "could not apply the provider's rate-limit report");
            }
        });
    }

    fn due(&self, scope: &Scope, observation: &Observation) -> bool {
        let urgent = observation.windows().iter().flatten().any(Window::exhausted);
        let mut last_sent = self.last_sent.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let recent = last_sent
            .get(&scope.provider)
            .and_then(|models| models.get(&scope.model))
            .is_some_and(|at| now.duration_since(*at) < MIN_INTERVAL);
        if recent && !urgent {
            return false;
        }
        last_sent
            .entry(scope.provider.clone())
            .or_default()
            .insert(scope.model.clone(), now);
        true
    }
}
