//! `electrons bench`: drives N text jobs through the whole pipeline (HTTP submit →
//! PostgreSQL → RabbitMQ → worker process → simulator → PostgreSQL) and prints
//! submit throughput, end-to-end throughput, latencies, peak jobs in flight and
//! the worker's peak RSS. It uses its own database and queue prefix, so it can
//! run beside anything else; the worker is a separate `electrons worker` process
//! so its memory is measured alone.

use std::{
    process::Stdio,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Args;
use electrons_domain::{auth, config::Settings, db, secret::Secret, Shutdown};
use electrons_simulator::{AccountLimits, Simulator, SimulatorHandle};
use hdrhistogram::Histogram;
use serde_json::json;
use tokio::sync::Mutex;

use crate::roles;

#[derive(Args, Clone, Debug)]
pub struct BenchArgs {
    /// Jobs to submit.
    #[arg(long, default_value_t = 20_000)]
    pub jobs: u64,
    /// Concurrent HTTP submitters.
    #[arg(long, default_value_t = 64)]
    pub submitters: usize,
    /// Simulated provider latency per call.
    #[arg(long, default_value_t = 0)]
    pub sim_latency_ms: u64,
    /// Worker processes to start.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Jobs in flight per worker process.
    #[arg(long, default_value_t = 512)]
    pub worker_concurrency: u16,
    /// Model to run (its provider's bucket is opened wide: this measures the pipeline).
    #[arg(long, default_value = "gpt-4o-mini")]
    pub model: String,
    /// Submit every job before starting the workers, so they start with a full
    /// queue: measures how many jobs one worker holds in flight.
    #[arg(long)]
    pub preload: bool,
    /// Give up waiting for completions after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout_secs: u64,
    /// Give the bench project a monthly budget of this many US dollars, so
    /// every submit reserves from it (the unbatched, reserving insert).
    #[arg(long)]
    pub budget_usd: Option<f64>,
}

pub async fn run(args: BenchArgs, settings: Settings) -> anyhow::Result<()> {
    let Stage {
        settings,
        pool,
        key,
        sim,
        project,
        shutdown,
    } = stage(settings).await?;
    if let Some(budget) = args.budget_usd {
        electrons_domain::db::budgets::set(&pool, project, budget).await?;
    }
    sim.controls().set_latency(Duration::from_millis(args.sim_latency_ms));
    let overrides = Default::default();
    let catalog = roles::catalog(&settings, &pool, overrides, &shutdown).await?;
    let producer = roles::producer(&settings, pool.clone(), catalog, Some(bind().await?), shutdown.clone()).await?;
    let store = roles::store(&settings).await?;
    let _scheduler = roles::scheduler(&settings, pool.clone(), store, shutdown.clone());
    let mut workers = Vec::new();
    if !args.preload {
        for _ in 0..args.workers {
            workers.push(spawn_worker(&settings, &args, &sim.base_url())?);
        }
    }

    println!(
        "bench: {} jobs, {} submitters, {} worker process(es) × {} in flight, simulator latency {} ms, model {}",
        args.jobs, args.submitters, args.workers, args.worker_concurrency, args.sim_latency_ms, args.model
    );
    let base = format!("http://{}", producer.addr);
    wait_until_ready(&base, &pool, workers.len()).await?;
    let submit_latency = Arc::new(Mutex::new(Histogram::<u64>::new(3)?));
    let started = Instant::now();
    submit_all(&args, &base, key.expose(), submit_latency.clone()).await?;
    let submit_elapsed = started.elapsed();
    if args.preload {
        for _ in 0..args.workers {
            workers.push(spawn_worker(&settings, &args, &sim.base_url())?);
        }
    }
    wait_for_completion(&pool, args.jobs, Duration::from_secs(args.timeout_secs)).await?;

    let peak_in_flight = peak_running(&pool).await?;
    let peak_rss: Vec<u64> = workers.iter().map(|w| w.id().map(peak_rss_kib).unwrap_or(0)).collect();

    report(&pool, &args, submit_elapsed, &submit_latency, peak_in_flight, &peak_rss).await?;
    if args.budget_usd.is_some() {
        if let Some(budget) = electrons_domain::db::budgets::get(&pool, project).await? {
            println!(
                "  budget                       ${} spent, ${} still reserved (every job settled: 0)",
                budget.spent_usd, budget.reserved_usd
            );
        }
    }

    tear_down(workers, producer, sim, shutdown, pool, &settings).await;
    Ok(())
}

/// Stops the worker processes, the in-process roles and the simulator, and
/// drops the bench's database.
pub(crate) async fn tear_down(
    workers: Vec<tokio::process::Child>,
    producer: roles::ProducerRole,
    sim: SimulatorHandle,
    shutdown: Shutdown,
    pool: sqlx::PgPool,
    settings: &Settings,
) {
    for mut worker in workers {
        let _ = worker.start_kill();
        let _ = worker.wait().await;
    }
    shutdown.cancel();
    sim.shutdown();
    let _ = tokio::time::timeout(Duration::from_secs(5), producer.handle).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    pool.close().await;
    drop_database(settings).await;
}

async fn submit_all(
    args: &BenchArgs,
    base: &str,
    key: &str,
    latency: Arc<Mutex<Histogram<u64>>>,
) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.submitters)
        .build()?;
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..args.submitters {
        let (http, next, latency) = (http.clone(), next.clone(), latency.clone());
        let (url, key, model, total) = (
            format!("{base}/v1/jobs"),
            key.to_string(),
            args.model.clone(),
            args.jobs,
        );
        tasks.push(tokio::spawn(async move {
            let mut local = Histogram::<u64>::new(3)?;
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let body = json!({ "model": model, "input": { "prompt": format!("bench job {n}"), "max_tokens": 16 } });
                let sent = Instant::now();
                let response = http.post(&url).bearer_auth(&key).json(&body).send().await?;
                anyhow::ensure!(
                    response.status().as_u16() == 202,
                    "submit answered {}",
                    response.status()
                );
                local.record(sent.elapsed().as_micros() as u64)?;
            }
            latency.lock().await.add(&local)?;
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

async fn report(
    pool: &sqlx::PgPool,
    args: &BenchArgs,
    submit_elapsed: Duration,
    submit_latency: &Mutex<Histogram<u64>>,
    peak_in_flight: i64,
    peak_rss_kib: &[u64],
) -> anyhow::Result<()> {
    let (succeeded, failed, span_ms): (i64, i64, f64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'failed'),
                COALESCE(extract(epoch FROM max(completed_at) - min(created_at)) * 1000, 0)::float8
         FROM jobs",
    )
    .fetch_one(pool)
    .await?;
    let e2e: Vec<f64> = sqlx::query_scalar(
        "SELECT (extract(epoch FROM completed_at - created_at) * 1000)::float8 FROM jobs WHERE status = 'succeeded'",
    )
    .fetch_all(pool)
    .await?;
    let mut e2e_hist = Histogram::<u64>::new(3)?;
    for ms in e2e {
        e2e_hist.record((ms * 1000.0).max(0.0) as u64)?;
    }
    let submit = submit_latency.lock().await;
    let ms = |micros: u64| micros as f64 / 1000.0;
    println!("results:");
    println!("  jobs succeeded / failed      {succeeded} / {failed} of {}", args.jobs);
    println!(
        "  submit throughput            {:.0} jobs/s",
        args.jobs as f64 / submit_elapsed.as_secs_f64()
    );
    println!(
        "  end-to-end throughput        {:.0} jobs/s (first submit → last completion)",
        succeeded as f64 / (span_ms / 1000.0).max(1e-3)
    );
    println!(
        "  submit latency p50 / p99     {:.1} / {:.1} ms",
        ms(submit.value_at_quantile(0.5)),
        ms(submit.value_at_quantile(0.99))
    );
    println!(
        "  submit→succeeded p50 / p99   {:.1} / {:.1} ms",
        ms(e2e_hist.value_at_quantile(0.5)),
        ms(e2e_hist.value_at_quantile(0.99))
    );
    println!("  peak jobs running at once    {peak_in_flight} (from start/finish times)");
    for (i, kib) in peak_rss_kib.iter().enumerate() {
        println!("  worker {i} peak RSS            {:.1} MiB", *kib as f64 / 1024.0);
    }
    Ok(())
}

async fn wait_for_completion(pool: &sqlx::PgPool, total: u64, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE completed_at IS NOT NULL")
            .fetch_one(pool)
            .await?;
        if done as u64 >= total || Instant::now() > deadline {
            return Ok(());
        }
        // Few polls: each scans the jobs table, load the pipeline would not have.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The most jobs that were running at one instant, from their start and finish
/// times (a finish at the same instant as a start counts first).
async fn peak_running(pool: &sqlx::PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(max(running), 0)::int8 FROM (
             SELECT sum(delta) OVER (ORDER BY at, delta ROWS UNBOUNDED PRECEDING) AS running FROM (
                 SELECT started_at AS at, 1 AS delta FROM jobs WHERE started_at IS NOT NULL
                 UNION ALL
                 SELECT completed_at, -1 FROM jobs WHERE completed_at IS NOT NULL) events) totals",
    )
    .fetch_one(pool)
    .await?)
}

fn spawn_worker(settings: &Settings, args: &BenchArgs, simulator: &str) -> anyhow::Result<tokio::process::Child> {
    let concurrency = args.worker_concurrency.to_string();
    spawn_role(
        settings,
        &["worker", "--modalities", "text", "--concurrency", &concurrency],
        &[
            ("DE_PROVIDER_OPENAI_BASE_URL", simulator),
            ("DE_PROVIDER_OPENAI_API_KEY", "bench"),
            ("DE_PROVIDER_ANTHROPIC_BASE_URL", simulator),
            ("DE_PROVIDER_ANTHROPIC_API_KEY", "bench"),
        ],
    )
}

/// Another `electrons` process running `args` against the bench's database
/// and queues, so its memory is measured alone.
pub(crate) fn spawn_role(
    settings: &Settings,
    args: &[&str],
    env: &[(&str, &str)],
) -> anyhow::Result<tokio::process::Child> {
    let exe = std::env::current_exe().context("locating the electrons binary")?;
    tokio::process::Command::new(exe)
        .args(args)
        .envs(env.iter().copied())
        .env("DE_DATABASE_URL", &settings.database.url)
        .env("DE_DATABASE_MAX_CONNECTIONS", "32")
        .env("DE_AMQP_URL", &settings.broker.url)
        .env("DE_QUEUE_PREFIX", &settings.broker.prefix)
        .env("DE_QUEUE_EXPIRES_MS", "60000")
        .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting `electrons {}`", args.join(" ")))
}

/// Peak resident set size (VmHWM) of a process, in KiB.
pub(crate) fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Waits until the producer has the broker and every worker consumes, so the
/// figures measure the pipeline rather than start-up.
pub(crate) async fn wait_until_ready(base: &str, pool: &sqlx::PgPool, workers: usize) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready: serde_json::Value = http.get(format!("{base}/readyz")).send().await?.json().await?;
        let consuming: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
                .fetch_one(pool)
                .await?;
        // Each worker process holds database connections once it runs.
        if ready["broker"] == true && consuming as usize > workers {
            tokio::time::sleep(Duration::from_millis(500)).await;
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "the pipeline did not become ready: {ready}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn bind() -> anyhow::Result<tokio::net::TcpListener> {
    Ok(tokio::net::TcpListener::bind("127.0.0.1:0").await?)
}

/// The same server URL with another database name.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(slash) if slash > base.find("://").map_or(0, |i| i + 2) => &base[..slash],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

pub async fn drop_database(settings: &Settings) {
    let Some(name) = settings
        .database
        .url
        .rsplit('/')
        .next()
        .map(|n| n.split('?').next().unwrap_or(n).to_string())
    else {
        return;
    };
    let admin_url = with_database(&settings.database.url, "postgres");
    if let Ok(admin) = sqlx::PgPool::connect(&admin_url).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&admin)
            .await;
    }
}

/// What every bench sets up first.
pub(crate) struct Stage {
    pub settings: Settings,
    pub pool: sqlx::PgPool,
    pub key: Secret,
    /// The project `key` belongs to.
    pub project: uuid::Uuid,
    pub sim: SimulatorHandle,
    pub shutdown: Shutdown,
}

/// Its own database and queue prefix (so a bench never touches real data), an
/// API key, providers opened wide, and a simulator that reports no account
/// limits: otherwise the workers would obey a default account tier, and the
/// bench would measure that rather than the pipeline.
pub(crate) async fn stage(mut settings: Settings) -> anyhow::Result<Stage> {
    let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
    settings.database.url = with_database(&settings.database.url, &format!("de_bench_{tag}"));
    settings.broker.prefix = format!("bench-{tag}");
    settings.broker.queue_expires_ms = Some(60_000);
    settings.producer.bootstrap_api_key = None;
    settings.database.max_connections = settings.database.max_connections.max(32);

    let shutdown = Shutdown::new();
    let pool = roles::database(&settings).await?;
    let key = Secret::new(format!("bench-{tag}"));
    let project = auth::ensure_key(&pool, "bench", &key, &auth::Scope::DEFAULT).await?;
    for provider in ["openai", "anthropic"] {
        db::rate_limits::open_provider(&pool, provider, 1e9).await?;
    }
    let sim = Simulator::start("127.0.0.1:0".parse()?).await?;
    sim.controls().set_account_limits(Some(AccountLimits {
        requests_per_minute: Some(1 << 40),
        tokens_per_minute: Some(1 << 50),
        input_tokens_per_minute: Some(1 << 50),
        output_tokens_per_minute: Some(1 << 50),
        enforce: false,
    }));
    Ok(Stage {
        settings,
        pool,
        key,
        project,
        sim,
        shutdown,
    })
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn swaps_the_database_name() {
        assert_eq!(
            with_database("postgres://u@h:5432/electrons", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/electrons?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
    }
}
