//! `electrons bench-limits`: how well the fleet-wide limits hold and how much
//! they let through. For each number of processes K and limit R it starts K
//! `electrons limiter-load` processes hammering one provider's limit (R
//! requests/s, a burst of R/10) and calling the simulator with every grant, then
//! prints what the simulator saw: the busiest 1-s window, the overshoot beyond
//! R + burst, and utilization (calls / what the limit allowed over the run).
//! Last, with the limit out of the way and no calls, it measures how many
//! acquisitions per second PostgreSQL sustains on that one limit.

use std::{process::Stdio, time::Duration};

use anyhow::Context;
use clap::Args;
use electrons_domain::config::Settings;
use electrons_simulator::Simulator;

use crate::{bench, roles};

#[derive(Args, Clone, Debug)]
pub struct BenchLimitsArgs {
    /// Numbers of limiter processes to try.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    pub processes: Vec<usize>,
    /// Limits (requests per second) to try.
    #[arg(long, value_delimiter = ',', default_value = "50,500,5000")]
    pub rates: Vec<u32>,
    /// Seconds each combination runs.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Callers per process.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
}

pub async fn run(args: BenchLimitsArgs, mut settings: Settings) -> anyhow::Result<()> {
    let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
    settings.database.url = bench::with_database(&settings.database.url, &format!("de_bench_{tag}"));
    let pool = roles::database(&settings).await?;
    let sim = Simulator::start("127.0.0.1:0".parse()?).await?;
    let controls = sim.controls().clone();

    println!(
        "bench-limits: one provider limit, {} callers per process, {} s per run",
        args.concurrency, args.seconds
    );
    println!(
        "{:>3} {:>6} {:>6} {:>8} {:>10} {:>10} {:>11}",
        "K", "R/s", "burst", "calls", "max/1s", "overshoot", "utilization"
    );
    for &processes in &args.processes {
        for &rate in &args.rates {
            let burst = (rate / 10).max(1);
            set_limit(&pool, f64::from(rate), f64::from(burst)).await?;
            controls.reset();
            run_load(&settings, &args, processes, Some(&sim.base_url())).await?;
            let calls = controls.requests();
            let span = match (calls.first(), calls.last()) {
                (Some(first), Some(last)) => (last.at - first.at).to_std().unwrap_or_default(),
                _ => Duration::ZERO,
            };
            let busiest = controls.max_in_window(Duration::from_secs(1), |_| 1);
            let allowed = f64::from(burst) + f64::from(rate) * span.as_secs_f64();
            println!(
                "{:>3} {:>6} {:>6} {:>8} {:>10} {:>10} {:>10.1}%",
                processes,
                rate,
                burst,
                calls.len(),
                busiest,
                busiest.saturating_sub(u64::from(rate + burst)),
                100.0 * calls.len() as f64 / allowed.max(1.0)
            );
        }
    }

    println!("acquisitions per second on one limit (no provider calls):");
    for &processes in &args.processes {
        set_limit(&pool, 1e9, 1e9).await?;
        let granted = run_load(&settings, &args, processes, None).await?;
        println!(
            "  K = {:>2}: {:>9.0} acquisitions/s",
            processes,
            granted as f64 / args.seconds
        );
    }

    sim.shutdown();
    pool.close().await;
    bench::drop_database(&settings).await;
    Ok(())
}

async fn set_limit(pool: &sqlx::PgPool, rate: f64, burst: f64) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE rate_limits SET requests_per_interval = $1, request_interval_ms = 1000, request_burst = $2,
                tokens_per_interval = NULL, input_tokens_per_interval = NULL, output_tokens_per_interval = NULL,
                max_concurrent = NULL, paused_until = NULL, request_level = $2, updated_at = clock_timestamp()
         WHERE id = 'openai'",
    )
    .bind(rate)
    .bind(burst)
    .execute(pool)
    .await?;
    Ok(())
}

/// Runs `processes` limiter-load processes at once; returns their total grants.
async fn run_load(
    settings: &Settings,
    args: &BenchLimitsArgs,
    processes: usize,
    target: Option<&str>,
) -> anyhow::Result<u64> {
    let exe = std::env::current_exe().context("locating the electrons binary")?;
    let mut children = Vec::with_capacity(processes);
    for _ in 0..processes {
        let mut command = tokio::process::Command::new(&exe);
        command
            .args(["limiter-load", "--concurrency", &args.concurrency.to_string()])
            .args(["--seconds", &args.seconds.to_string()])
            .env("DE_DATABASE_URL", &settings.database.url)
            .env("DE_DATABASE_MAX_CONNECTIONS", "4")
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        if let Some(target) = target {
            command.args(["--target", target]);
        }
        children.push(command.spawn().context("starting a limiter-load process")?);
    }
    let mut granted = 0;
    for child in children {
        let output = child.wait_with_output().await?;
        anyhow::ensure!(output.status.success(), "a limiter-load process failed");
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).context("limiter-load output")?;
        granted += report["granted"].as_u64().unwrap_or(0);
    }
    Ok(granted)
}
