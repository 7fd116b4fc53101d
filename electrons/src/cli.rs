//! The command line of `electrons`: run any DE role, or all of them in one process
//! for development. Lives in the library so the end-to-end tests build the same
//! program as a binary of their own and kill it like a real deployment.

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::{
    admin, bench, bench_limits, bench_openai, bench_webhooks, client, demo, limiter_load, metrics_listener, roles,
    telemetry,
};
use electrons_domain::{
    catalog::{Overrides, ProviderOverride},
    config::{self, Settings},
    secret::Secret,
    Shutdown,
};
use electrons_simulator::Simulator;

#[derive(Parser)]
#[command(
    name = "electrons",
    version,
    about = "Distributed Electrons: AI generation jobs over HTTP, RabbitMQ and PostgreSQL"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the database if needed and apply migrations, then exit.
    Migrate,
    /// Serve the HTTP API (DE_HTTP_ADDR).
    Producer,
    /// Run jobs from the modality queues.
    Worker {
        /// Comma-separated modalities to consume (overrides DE_WORKER_MODALITIES).
        #[arg(long)]
        modalities: Option<String>,
        /// Jobs in flight (overrides DE_WORKER_CONCURRENCY).
        #[arg(long)]
        concurrency: Option<u16>,
    },
    /// Deliver webhooks: signed POSTs of job events, retried on a schedule.
    Webhooks {
        /// Deliveries in flight (overrides DE_WEBHOOK_CONCURRENCY).
        #[arg(long)]
        concurrency: Option<u16>,
    },
    /// Relay unpublished jobs and webhooks, publish due retries, rescue expired leases.
    Scheduler,
    /// Every role in one process; providers without an API key are pointed at the
    /// built-in provider simulator.
    Dev {
        /// Submit a few demo jobs, show them run, and keep serving.
        #[arg(long)]
        demo: bool,
    },
    /// Operator tasks that come before any API key: `admin create-key`.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Drive jobs through the whole pipeline against the simulator and print figures.
    Bench(bench::BenchArgs),
    /// Measure the fleet-wide rate limits: overshoot, utilization, acquisitions/s.
    BenchLimits(bench_limits::BenchLimitsArgs),
    /// Measure webhook delivery: completion → first attempt latency at a steady rate.
    BenchWebhooks(bench_webhooks::BenchWebhooksArgs),
    /// Measure the latency the OpenAI-compatible chat endpoint adds over the provider.
    BenchOpenai(bench_openai::BenchOpenAiArgs),
    /// Submit a job to a running DE (DE_URL, DE_API_KEY): `--model M --input @job.json --wait`.
    Submit(client::submit::SubmitArgs),
    /// List, read, cancel or watch the project's jobs.
    Jobs(client::jobs::JobsArgs),
    /// The models DE runs, with their prices.
    Models(client::models::ModelsArgs),
    /// Create, list and revoke API keys.
    Keys(client::keys::KeysArgs),
    /// Jobs, usage and cost by day and model.
    Usage(client::usage::UsageArgs),
    /// One process of load for `bench-limits`.
    #[command(hide = true)]
    LimiterLoad(limiter_load::LimiterLoadArgs),
}

#[tokio::main]
pub async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // A client command logs nothing: its stdout is for the person or the script.
    let finished_well = match cli.command {
        Command::Submit(args) => Some(client::submit::run(args).await),
        Command::Jobs(args) => Some(client::jobs::run(args).await),
        Command::Models(args) => Some(client::models::run(args).await),
        Command::Keys(args) => Some(client::keys::run(args).await),
        Command::Usage(args) => Some(client::usage::run(args).await),
        command => {
            serve(command).await?;
            None
        }
    };
    match finished_well {
        None | Some(Ok(true)) => Ok(()),
        // A followed job that failed: its details are printed; the exit status says so.
        Some(Ok(false)) => std::process::exit(2),
        Some(Err(error)) => {
            eprintln!("error: {error}");
            std::process::exit(1)
        }
    }
}

/// The roles, the benchmarks and the operator's tasks; the spans still
/// batched for export are flushed when it ends.
async fn serve(command: Command) -> anyhow::Result<()> {
    // The benchmark's own process hosts the producer: per-job logs would be
    // measured too, so it logs warnings only unless RUST_LOG says otherwise.
    let telemetry = if matches!(
        command,
        Command::Bench(_)
            | Command::BenchLimits(_)
            | Command::BenchWebhooks(_)
            | Command::BenchOpenai(_)
            | Command::LimiterLoad(_)
    ) && std::env::var_os("RUST_LOG").is_none()
    {
        telemetry::init_with("warn")
    } else {
        telemetry::init()
    };
    let served = run(command).await;
    telemetry.shutdown();
    served
}

async fn run(command: Command) -> anyhow::Result<()> {
    // Every job in flight holds a socket; the common soft limit of 1024 would cap
    // a worker long before its memory does.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(error) => tracing::warn!(%error, "could not raise the open-file limit"),
    }
    let mut settings = Settings::from_env()?;
    let shutdown = Shutdown::new();
    roles::shutdown_on_signal(shutdown.clone());

    match command {
        Command::Migrate => {
            roles::database(&settings).await?;
            tracing::info!("migrations applied");
        }
        Command::Producer => {
            tracing::info!(config = %settings.describe(), "starting producer");
            let pool = roles::database(&settings).await?;
            let catalog = roles::catalog(&settings, &pool, Overrides::default(), &shutdown).await?;
            let producer = roles::producer(&settings, pool, catalog, None, shutdown).await?;
            producer.handle.await?;
        }
        Command::Worker {
            modalities,
            concurrency,
        } => {
            if let Some(list) = modalities {
                settings.worker.modalities =
                    config::modalities(&list).map_err(|e| anyhow::anyhow!("--modalities: {e}"))?;
            }
            if let Some(n) = concurrency {
                settings.worker.concurrency = n;
            }
            tracing::info!(config = %settings.describe(), "starting worker");
            let pool = roles::database(&settings).await?;
            let catalog = roles::catalog(&settings, &pool, Overrides::default(), &shutdown).await?;
            let store = roles::store(&settings).await?;
            metrics_listener::spawn(&settings, shutdown.clone()).await?;
            roles::worker(&settings, pool, catalog, store, shutdown).await?;
        }
        Command::Webhooks { concurrency } => {
            if let Some(n) = concurrency {
                settings.webhooks.concurrency = n;
            }
            tracing::info!(config = %settings.describe(), "starting webhook deliverer");
            let pool = roles::database(&settings).await?;
            let store = roles::store(&settings).await?;
            metrics_listener::spawn(&settings, shutdown.clone()).await?;
            roles::webhooks(&settings, pool, store, shutdown).await?;
        }
        Command::Scheduler => {
            tracing::info!(config = %settings.describe(), "starting scheduler");
            let pool = roles::database(&settings).await?;
            let store = roles::store(&settings).await?;
            metrics_listener::spawn(&settings, shutdown.clone()).await?;
            roles::scheduler(&settings, pool, store, shutdown).await?;
        }
        Command::Dev { demo } => dev(settings, demo, shutdown).await?,
        Command::Admin { command } => admin::run(command, &settings).await?,
        Command::Bench(args) => bench::run(args, settings).await?,
        Command::BenchLimits(args) => bench_limits::run(args, settings).await?,
        Command::BenchWebhooks(args) => bench_webhooks::run(args, settings).await?,
        Command::BenchOpenai(args) => bench_openai::run(args, settings).await?,
        Command::LimiterLoad(args) => limiter_load::run(args, settings).await?,
        // Handled in `main`, before any of the above is set up.
        Command::Submit(_) | Command::Jobs(_) | Command::Models(_) | Command::Keys(_) | Command::Usage(_) => {}
    }
    Ok(())
}

async fn dev(mut settings: Settings, run_demo: bool, shutdown: Shutdown) -> anyhow::Result<()> {
    // The dev key is shown so the demo can be copied; a key you configured is not.
    let shown_key = match &settings.producer.bootstrap_api_key {
        Some(_) => "$DE_BOOTSTRAP_API_KEY".to_string(),
        None => "de_dev_key".to_string(),
    };
    let api_key = settings
        .producer
        .bootstrap_api_key
        .get_or_insert_with(|| Secret::new("de_dev_key"))
        .clone();
    tracing::info!(config = %settings.describe(), "starting every role in one process");
    let pool = roles::database(&settings).await?;

    let mut overrides = Overrides::default();
    let mut simulator = None;
    let keyless = roles::providers_without_key(&settings, &pool).await?;
    if !keyless.is_empty() {
        let addr = std::env::var("DE_SIMULATOR_ADDR").unwrap_or_else(|_| "127.0.0.1:9090".into());
        let addr = addr.parse().with_context(|| format!("DE_SIMULATOR_ADDR {addr:?}"))?;
        let sim = match Simulator::start(addr).await {
            Ok(sim) => sim,
            // The port is taken (another dev instance?): any free port will do.
            Err(_) => Simulator::start("127.0.0.1:0".parse()?).await?,
        };
        tracing::warn!(
            providers = %keyless.join(", "),
            simulator = %sim.base_url(),
            "no API key configured for these providers; pointing them at the provider simulator"
        );
        for provider in keyless {
            let simulated = ProviderOverride {
                base_url: Some(sim.base_url()),
                api_key: Some(Secret::new("simulator")),
            };
            overrides.insert(provider, simulated);
        }
        simulator = Some(sim);
    }

    let catalog = roles::catalog(&settings, &pool, overrides, &shutdown).await?;
    let producer = roles::producer(&settings, pool.clone(), catalog.clone(), None, shutdown.clone()).await?;
    let store = roles::store(&settings).await?;
    let worker = roles::worker(&settings, pool.clone(), catalog, store.clone(), shutdown.clone());
    let webhooks = roles::webhooks(&settings, pool.clone(), store.clone(), shutdown.clone());
    let scheduler = roles::scheduler(&settings, pool, store, shutdown.clone());

    let base_url = format!("http://{}", producer.addr);
    if run_demo {
        if let Err(error) = demo::run(&base_url, api_key.expose(), simulator.as_ref()).await {
            tracing::error!(%error, "demo failed");
        }
    }
    demo::print_try_it(&base_url, &shown_key);
    let _ = tokio::join!(producer.handle, worker, webhooks, scheduler);
    Ok(())
}
