//! Prometheus metrics of every role, through the `metrics` facade: each process
//! installs one recorder (`install`, once; nothing is recorded before or
//! without it) and renders it at `GET /metrics` — the producer on its own port,
//! the other roles on `DE_METRICS_ADDR`. The files here name what is recorded,
//! one per part of the pipeline, each with its descriptions and the functions
//! its call sites use, so a metric's name and labels are written once.
//!
//! Labels are bounded: models, providers, modalities, routes and outcomes, never
//! a job, project or key id.

pub mod broker;
pub mod fleet;
mod handles;
pub mod http;
pub mod jobs;
pub mod provider;
pub mod webhooks;

use std::{sync::OnceLock, time::Duration};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Upper bounds of the latency histograms, in seconds: from a fast submit to a
/// slow video render's poll.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0,
];

/// Upper bounds of the cost histogram, in US dollars per billed call.
const USD_BUCKETS: &[f64] = &[0.0001, 0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

/// How often histograms are drained into their buckets when nobody scrapes.
const UPKEEP: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs this process's recorder (the first call does; later ones return
/// what it did). `false` when metrics are off or another recorder was set.
pub fn install(enabled: bool) -> bool {
    HANDLE.get_or_init(|| enabled.then(build).flatten()).is_some()
}

fn build() -> Option<PrometheusHandle> {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_usd".into()), USD_BUCKETS));
    let handle = match builder.and_then(PrometheusBuilder::install_recorder) {
        Ok(handle) => handle,
        Err(error) => {
            tracing::warn!(%error, "could not install the metrics recorder; metrics are off");
            return None;
        }
    };
    describe();
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || loop {
            std::thread::sleep(UPKEEP);
            upkeep.run_upkeep();
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "could not start the metrics upkeep; histograms drain at scrapes only");
    }
    Some(handle)
}

/// Whether this process records metrics.
pub fn enabled() -> bool {
    HANDLE.get().is_some_and(Option::is_some)
}

/// The text exposition of everything this process recorded; `None` when
/// metrics are off.
pub fn render() -> Option<String> {
    let handle = HANDLE.get()?.as_ref()?;
    handle.run_upkeep();
    Some(handle.render())
}

/// The exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every metric name DE records (a histogram's series add `_bucket`, `_sum`
/// and `_count`), for checks that a dashboard asks only for what exists.
pub fn names() -> impl Iterator<Item = &'static str> {
    [
        broker::NAMES,
        fleet::NAMES,
        http::NAMES,
        jobs::NAMES,
        provider::NAMES,
        webhooks::NAMES,
    ]
    .into_iter()
    .flatten()
    .copied()
}

fn describe() {
    broker::describe();
    fleet::describe();
    http::describe();
    jobs::describe();
    provider::describe();
    webhooks::describe();
}
