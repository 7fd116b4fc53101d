//! `electrons bench-webhooks`: webhook delivery at a steady rate of job
//! completions. Jobs with a webhook complete at `--rate` per second for
//! `--seconds`, and a deliverer process (`electrons webhooks`) delivers each
//! completion to a local receiver. Prints delivery throughput, the latency
//! from a job's completion (its `completed_at`) to the first attempt reaching
//! the receiver (p50/p99), how many deliveries were lost or repeated, and the
//! deliverer's peak RSS.
//!
//! By default the completions are made the way a worker makes them (see
//! `completer`) without the submits and provider calls in front, so the
//! figures are webhook delivery's; `--through-pipeline` submits real jobs
//! over HTTP and runs them in a worker process against the simulator, which
//! on a small machine measures the whole pipeline competing for the CPU.

mod completer;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode};
use chrono::{DateTime, Utc};
use clap::Args;
use electrons_domain::config::Settings;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::{bench, roles};

#[derive(Args, Clone, Debug)]
pub struct BenchWebhooksArgs {
    /// Jobs submitted (and so completions) per second.
    #[arg(long, default_value_t = 1000)]
    pub rate: u64,
    /// How long to keep submitting.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Deliveries in flight in the deliverer process.
    #[arg(long, default_value_t = 256)]
    pub concurrency: u16,
    /// Give up waiting for deliveries this long after the last submit.
    #[arg(long, default_value_t = 120)]
    pub drain_secs: u64,
    /// Submit the jobs over HTTP and run them in a worker process, instead of
    /// completing them directly.
    #[arg(long)]
    pub through_pipeline: bool,
}

/// First arrival per `webhook-id`, and how many arrivals in all.
#[derive(Default)]
struct Arrivals {
    first: HashMap<String, Duration>,
    total: u64,
}

pub async fn run(args: BenchWebhooksArgs, settings: Settings) -> anyhow::Result<()> {
    let bench::Stage {
        mut settings,
        pool,
        key,
        sim,
        project,
        shutdown,
    } = bench::stage(settings).await?;
    // The receiver is local: admit loopback, as a deployment with internal receivers would.
    settings.webhooks.allowed_networks =
        electrons_domain::config::networks("127.0.0.1/32").map_err(anyhow::Error::msg)?;

    let arrivals = Arc::new(Mutex::new(Arrivals::default()));
    let receiver = bench::bind().await?;
    let hook = format!("http://{}/hook", receiver.local_addr()?);
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(arrivals.clone());
    tokio::spawn(async move { axum::serve(receiver, app).await });

    let store = roles::store(&settings).await?;
    let _scheduler = roles::scheduler(&settings, pool.clone(), store, shutdown.clone());
    let concurrency = args.concurrency.to_string();
    let deliverer = bench::spawn_role(
        &settings,
        &["webhooks", "--concurrency", &concurrency],
        &[("DE_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.1/32")],
    )?;

    let total = args.rate * args.seconds;
    println!(
        "bench-webhooks: {total} jobs with a webhook completing at {}/s ({}), deliverer concurrency {}",
        args.rate,
        if args.through_pipeline {
            "submitted over HTTP, run by a worker process"
        } else {
            "completed as a worker completes them"
        },
        args.concurrency
    );
    let deliverer_pid = deliverer.id();
    let mut children = vec![deliverer];
    let mut producer_handle = None;
    // When the load began: after everything it needs is up.
    let started = if args.through_pipeline {
        let catalog = roles::catalog(&settings, &pool, Default::default(), &shutdown).await?;
        let producer = roles::producer(
            &settings,
            pool.clone(),
            catalog,
            Some(bench::bind().await?),
            shutdown.clone(),
        )
        .await?;
        let simulator = sim.base_url();
        children.push(bench::spawn_role(
            &settings,
            &["worker", "--modalities", "text", "--concurrency", "512"],
            &[
                ("DE_PROVIDER_OPENAI_BASE_URL", simulator.as_str()),
                ("DE_PROVIDER_OPENAI_API_KEY", "bench"),
            ],
        )?);
        let base = format!("http://{}", producer.addr);
        producer_handle = Some(producer.handle);
        bench::wait_until_ready(&base, &pool, 2).await?;
        let started = Instant::now();
        submit_at_rate(&args, &base, key.expose(), &hook).await?;
        started
    } else {
        let completer = completer::Completer::prepare(&settings, &pool, project, &hook, total, &shutdown).await?;
        completer::wait_for_consumer(&settings).await?;
        let started = Instant::now();
        completer.complete_at_rate(args.rate).await?;
        started
    };
    let submitted_in = started.elapsed();

    let deadline = Instant::now() + Duration::from_secs(args.drain_secs);
    while (lock(&arrivals).first.len() as u64) < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Late repeats would show here.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let delivered_in = started.elapsed();

    let (completed, delivered_rows): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM jobs WHERE status = 'succeeded'),
                (SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered')",
    )
    .fetch_one(&pool)
    .await?;
    let completed_at: Vec<(uuid::Uuid, DateTime<Utc>)> =
        sqlx::query_as("SELECT id, completed_at FROM jobs WHERE completed_at IS NOT NULL")
            .fetch_all(&pool)
            .await?;
    let first_completion = completed_at.iter().map(|(_, at)| *at).min();
    let last_completion = completed_at.iter().map(|(_, at)| *at).max();
    let rss = deliverer_pid.map(bench::peak_rss_kib).unwrap_or(0);
    // Where the time goes: completion → the deliverer starting the POST.
    let to_attempt: Vec<f64> = sqlx::query_scalar(
        "SELECT (extract(epoch FROM a.started_at - j.completed_at) * 1000)::float8
         FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id JOIN jobs j ON j.id = d.job_id
         WHERE a.attempt = 1",
    )
    .fetch_all(&pool)
    .await?;
    let mut to_attempt_hist = Histogram::<u64>::new(3)?;
    for ms in to_attempt {
        to_attempt_hist.record((ms * 1000.0).max(0.0) as u64)?;
    }

    let arrivals = std::mem::take(&mut *lock(&arrivals));
    let mut latency = Histogram::<u64>::new(3)?;
    for after_completion in arrivals.first.values() {
        latency.record(after_completion.as_micros() as u64)?;
    }
    let unique = arrivals.first.len() as u64;
    let ms = |micros: u64| micros as f64 / 1000.0;
    let completion_span = match (first_completion, last_completion) {
        (Some(first), Some(last)) => (last - first).to_std().unwrap_or_default(),
        _ => Duration::ZERO,
    };
    println!("results:");
    println!(
        "  submitted or completed             {total} in {:.1} s ({:.0}/s)",
        submitted_in.as_secs_f64(),
        total as f64 / submitted_in.as_secs_f64()
    );
    println!(
        "  completions                        {completed} ({:.0}/s)",
        completed as f64 / completion_span.as_secs_f64().max(1e-3)
    );
    println!(
        "  deliveries received (unique ids)   {unique} ({:.0}/s over the run)",
        unique as f64 / delivered_in.as_secs_f64()
    );
    println!(
        "  completion → first attempt p50     {:.1} ms",
        ms(latency.value_at_quantile(0.5))
    );
    println!(
        "  completion → first attempt p99     {:.1} ms",
        ms(latency.value_at_quantile(0.99))
    );
    println!("  completion → first attempt max     {:.1} ms", ms(latency.max()));
    println!(
        "    of which before the POST p50/p99 {:.1} / {:.1} ms (completion → deliverer sends)",
        ms(to_attempt_hist.value_at_quantile(0.5)),
        ms(to_attempt_hist.value_at_quantile(0.99))
    );
    println!(
        "  lost (completed, never received)   {}",
        (completed as u64).saturating_sub(unique)
    );
    println!("  repeated arrivals                  {}", arrivals.total - unique);
    println!("  deliveries marked delivered        {delivered_rows}");
    println!("  deliverer peak RSS                 {:.1} MiB", rss as f64 / 1024.0);

    for mut child in children {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    shutdown.cancel();
    sim.shutdown();
    if let Some(handle) = producer_handle {
        let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    pool.close().await;
    bench::drop_database(&settings).await;
    Ok(())
}

/// Submits `rate` jobs per second on a fixed timetable (not as fast as
/// possible), so completions arrive at that rate.
async fn submit_at_rate(args: &BenchWebhooksArgs, base: &str, key: &str, hook: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    let in_flight = Arc::new(Semaphore::new(256));
    let total = args.rate * args.seconds;
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        tokio::time::sleep_until(start + Duration::from_secs_f64(n as f64 / args.rate as f64)).await;
        let permit = in_flight.clone().acquire_owned().await?;
        let request = http.post(format!("{base}/v1/jobs")).bearer_auth(key).json(&json!({
            "model": "gpt-4o-mini",
            "input": { "prompt": format!("webhook bench {n}"), "max_tokens": 16 },
            "webhook": hook,
        }));
        tasks.push(tokio::spawn(async move {
            let response = request.send().await?;
            drop(permit);
            anyhow::ensure!(
                response.status() == StatusCode::ACCEPTED,
                "submit answered {}",
                response.status()
            );
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

async fn receive(State(arrivals): State<Arc<Mutex<Arrivals>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let now = Utc::now();
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let completed_at = serde_json::from_slice::<Value>(&body).ok().and_then(|job| {
        job["completed_at"]
            .as_str()
            .and_then(|t| t.parse::<DateTime<Utc>>().ok())
    });
    let after = completed_at.and_then(|at| (now - at).to_std().ok()).unwrap_or_default();
    let mut arrivals = lock(&arrivals);
    arrivals.total += 1;
    arrivals.first.entry(id).or_insert(after);
    StatusCode::NO_CONTENT
}

fn lock(arrivals: &Mutex<Arrivals>) -> std::sync::MutexGuard<'_, Arrivals> {
    arrivals.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
