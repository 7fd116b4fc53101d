//! `electrons limiter-load` (hidden; started by `electrons bench-limits`): one
//! process standing in for a worker fleet member. `--concurrency` tasks each
//! loop acquire → call the provider → settle for `--seconds`, through the same
//! `Limiter` the workers use, then print what they did as one JSON line.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use clap::Args;
use electrons_domain::{
    config::Settings,
    job::Priority,
    limiter::{Limiter, Reservation, Scope},
};
use serde_json::json;

use crate::roles;

#[derive(Args, Clone, Debug)]
pub struct LimiterLoadArgs {
    #[arg(long, default_value = "openai")]
    pub provider: String,
    #[arg(long, default_value = "gpt-4o-mini")]
    pub model: String,
    /// Callers acquiring at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Base URL of an OpenAI-compatible server to call with each grant; without
    /// it, grants are only counted (measures the limiter alone).
    #[arg(long)]
    pub target: Option<String>,
}

pub async fn run(args: LimiterLoadArgs, settings: Settings) -> anyhow::Result<()> {
    let pool = roles::database(&settings).await?;
    // Never send callers away: this measures how fast grants come.
    let limiter = Limiter::new(pool, Duration::from_secs(3600));
    let http = reqwest::Client::new();
    let scope = Scope {
        provider: args.provider.clone(),
        model: args.model.clone(),
        project: uuid::Uuid::nil(),
    };
    let (granted, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let (limiter, http, scope, target) = (limiter.clone(), http.clone(), scope.clone(), args.target.clone());
            let (granted, failed) = (granted.clone(), failed.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let reservation = Reservation {
                        holder: uuid::Uuid::new_v4(),
                        priority: Priority::Normal,
                        input_tokens: 8,
                        output_tokens: 16,
                    };
                    let Ok(Ok(grant)) =
                        tokio::time::timeout_at(deadline.into(), limiter.acquire(&scope, reservation)).await
                    else {
                        continue;
                    };
                    granted.fetch_add(1, Ordering::Relaxed);
                    if let Some(target) = &target {
                        let called = http
                            .post(format!("{target}/v1/chat/completions"))
                            .bearer_auth("bench")
                            .json(&json!({ "model": scope.model, "max_tokens": 16,
                                           "messages": [{ "role": "user", "content": "limit" }] }))
                            .send()
                            .await;
                        if called.is_err() {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    grant.settle(8, 16);
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    println!(
        "{}",
        json!({ "granted": granted.load(Ordering::Relaxed), "failed_calls": failed.load(Ordering::Relaxed) })
    );
    Ok(())
}
