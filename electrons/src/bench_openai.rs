//! `electrons bench-openai`: the latency DE's OpenAI-compatible chat endpoint
//! adds over calling the provider directly. The same chat request is sent at a
//! steady rate (open loop: one every 1/rate seconds, however long the answers
//! take) first straight to the simulator's OpenAI chat, then to DE's
//! `/openai/v1/chat/completions` (HTTP → the native submit → PostgreSQL →
//! RabbitMQ → a worker process → the simulator → PostgreSQL → the answer),
//! and it prints p50/p90/p99 of both and their difference. The simulator
//! answers at once, so the difference is DE's own.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Args;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::{
    bench::{bind, spawn_role, stage, tear_down, wait_until_ready, Stage},
    roles,
};

#[derive(Args, Clone, Debug)]
pub struct BenchOpenAiArgs {
    /// Requests a second, for each of the two runs.
    #[arg(long, default_value_t = 200)]
    pub rate: u32,
    /// Requests in each run.
    #[arg(long, default_value_t = 4000)]
    pub requests: u32,
    /// The chat model (its provider's bucket is opened wide).
    #[arg(long, default_value = "gpt-4o-mini")]
    pub model: String,
    /// Jobs in flight in the worker process.
    #[arg(long, default_value_t = 512)]
    pub worker_concurrency: u16,
}

/// What a request's latency is measured to.
#[derive(Clone, Copy)]
enum Until {
    /// The whole answer.
    Answer,
    /// The first chunk of streamed text (the rest is read, not timed).
    FirstToken,
}

/// One run's latencies, in microseconds, and the requests that failed.
struct Run {
    latency: Histogram<u64>,
    failed: u64,
    elapsed: Duration,
}

pub async fn run(args: BenchOpenAiArgs, settings: electrons_domain::config::Settings) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.rate > 0 && args.requests > 0,
        "--rate and --requests must be above 0"
    );
    let Stage {
        settings,
        pool,
        key,
        sim,
        shutdown,
        ..
    } = stage(settings).await?;
    let catalog = roles::catalog(&settings, &pool, Default::default(), &shutdown).await?;
    let producer = roles::producer(&settings, pool.clone(), catalog, Some(bind().await?), shutdown.clone()).await?;
    let store = roles::store(&settings).await?;
    let _scheduler = roles::scheduler(&settings, pool.clone(), store, shutdown.clone());
    let concurrency = args.worker_concurrency.to_string();
    let simulator = sim.base_url();
    let worker = spawn_role(
        &settings,
        &["worker", "--modalities", "text", "--concurrency", &concurrency],
        &[
            ("DE_PROVIDER_OPENAI_BASE_URL", simulator.as_str()),
            ("DE_PROVIDER_OPENAI_API_KEY", "bench"),
            ("DE_PROVIDER_ANTHROPIC_BASE_URL", simulator.as_str()),
            ("DE_PROVIDER_ANTHROPIC_API_KEY", "bench"),
        ],
    )?;
    let base = format!("http://{}", producer.addr);
    wait_until_ready(&base, &pool, 1).await?;
    println!(
        "bench-openai: {} chat requests at {}/s each way, model {}, simulator latency 0 ms, one worker process × {}",
        args.requests, args.rate, args.model, args.worker_concurrency
    );
    let body = json!({
        "model": args.model,
        "messages": [{"role": "user", "content": "Write a haiku about electrons"}],
        "max_tokens": 16,
    });
    let http = reqwest::Client::new();
    // A short warm-up each way, so neither run pays for its connections' set-up.
    paced(
        &http,
        &format!("{simulator}/v1/chat/completions"),
        "bench",
        &body,
        50,
        100,
        Until::Answer,
    )
    .await?;
    paced(
        &http,
        &format!("{base}/openai/v1/chat/completions"),
        key.expose(),
        &body,
        50,
        100,
        Until::Answer,
    )
    .await?;
    let direct_url = format!("{simulator}/v1/chat/completions");
    let through_url = format!("{base}/openai/v1/chat/completions");
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let runs = [
        ("the whole answer", &body, Until::Answer),
        ("the first streamed token (stream: true)", &streamed, Until::FirstToken),
    ];
    for (what, body, until) in runs {
        println!("time to {what}:");
        let (rate, requests) = (args.rate, args.requests);
        let direct = paced(&http, &direct_url, "bench", body, rate, requests, until).await?;
        let through = paced(&http, &through_url, key.expose(), body, rate, requests, until).await?;
        report("direct to the simulator", &direct);
        report("through DE /openai/v1", &through);
        added(&direct, &through);
    }

    tear_down(vec![worker], producer, sim, shutdown, pool, &settings).await;
    Ok(())
}

fn added(direct: &Run, through: &Run) {
    let ms = |run: &Run, q: f64| run.latency.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "  {:<28} p50 {:>7.1} ms   p90 {:>7.1} ms   p99 {:>7.1} ms",
        "added by DE",
        ms(through, 0.5) - ms(direct, 0.5),
        ms(through, 0.9) - ms(direct, 0.9),
        ms(through, 0.99) - ms(direct, 0.99),
    );
}

fn report(name: &str, run: &Run) {
    let ms = |q: f64| run.latency.value_at_quantile(q) as f64 / 1000.0;
    let sent = run.latency.len() + run.failed;
    println!(
        "  {name:<28} p50 {:>7.1} ms   p90 {:>7.1} ms   p99 {:>7.1} ms   ({} answered, {} failed, {:.0}/s sent)",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        run.latency.len(),
        run.failed,
        sent as f64 / run.elapsed.as_secs_f64().max(1e-9),
    );
}

/// Sends `requests` copies of `body` to `url`, one every 1/`rate` seconds
/// whatever the answers take, and records each answer's latency.
async fn paced(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    body: &Value,
    rate: u32,
    requests: u32,
    until: Until,
) -> anyhow::Result<Run> {
    let latency = Arc::new(Mutex::new(Histogram::<u64>::new(3)?));
    let failed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut sent = Vec::with_capacity(requests as usize);
    for _ in 0..requests {
        ticker.tick().await;
        let request = http.post(url).bearer_auth(key).json(body);
        let (latency, failed) = (latency.clone(), failed.clone());
        sent.push(tokio::spawn(async move {
            let at = Instant::now();
            let took = match request.send().await {
                Ok(response) if response.status().is_success() => match until {
                    Until::Answer => response.bytes().await.ok().map(|_| at.elapsed()),
                    Until::FirstToken => first_token(response, at).await,
                },
                _ => None,
            };
            if let Some(took) = took {
                let micros = took.as_micros() as u64;
                let _ = latency.lock().await.record(micros.max(1));
            } else {
                failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    for request in sent {
        request.await.context("a request's task")?;
    }
    let elapsed = started.elapsed();
    let latency = Arc::try_unwrap(latency)
        .map_err(|_| anyhow::anyhow!("a request still holds the histogram"))?
        .into_inner();
    Ok(Run {
        latency,
        failed: failed.load(std::sync::atomic::Ordering::Relaxed),
        elapsed,
    })
}

/// When the first chunk with text arrived (a `delta` whose `content` is not
/// empty: the role chunk's is `""` in both streams), once the stream has been
/// read to its end.
async fn first_token(response: reqwest::Response, at: Instant) -> Option<Duration> {
    use futures::StreamExt;

    const TEXT: &[u8] = br#""delta":{"content":""#;
    let mut body = response.bytes_stream();
    let mut seen = Vec::new();
    let mut first = None;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.ok()?;
        if first.is_none() {
            seen.extend_from_slice(&chunk);
            let has_text = seen
                .windows(TEXT.len())
                .enumerate()
                .any(|(i, w)| w == TEXT && seen.get(i + TEXT.len()).is_some_and(|c| *c != b'"'));
            if has_text {
                first = Some(at.elapsed());
            }
        }
    }
    first
}
