//! The overview: the project's last 15 minutes from `GET /v1/stats`, drawn
//! once with the page and again every few seconds over server-sent events
//! (htmx's SSE extension swaps the fragment; `console.js` feeds the chart).

use std::{convert::Infallible, time::Duration};

use askama::Template;
use axum::{
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
    Extension,
};
use futures::Stream;
use serde_json::{json, Value};

use super::{
    page::{render, Page},
    session::Session,
    views::{millis, usd},
};
use crate::in_process::Api;

/// How often the live overview is redrawn.
const EVERY: Duration = Duration::from_secs(3);
const STATS: &str = "/v1/stats?window=15m";
const WINDOW_MINUTES: i64 = 15;

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    page: Page,
    live: Live,
}

struct ProviderRow {
    name: String,
    calls: i64,
    /// 429 answers.
    limited: i64,
    /// Jobs that waited at the rate limits.
    waited: i64,
    longest: String,
    throttled: bool,
}

/// The part that is redrawn.
#[derive(Template)]
#[template(path = "console/overview_live.html")]
struct Live {
    error: Option<String>,
    tiles: Vec<(String, String, String)>,
    latencies: Vec<(String, String, String, String)>,
    now: Vec<(String, i64, i64)>,
    providers: Vec<ProviderRow>,
    webhooks: (i64, i64, i64, String),
    cost: (String, String, String, Option<u32>),
    /// The per-minute series for the chart, as JSON for `console.js`.
    series: String,
    updated: String,
}

pub async fn page(session: Session, Extension(api): Extension<Api>) -> Response {
    let live = live_view(&api, &session).await;
    render(&OverviewPage {
        page: Page::new(&session, "overview", "Overview"),
        live,
    })
}

pub async fn live(
    session: Session,
    Extension(api): Extension<Api>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = futures::stream::unfold((api, session), |(api, session)| async move {
        tokio::time::sleep(EVERY).await;
        let html = live_view(&api, &session).await.render().unwrap_or_default();
        Some((Ok(Event::default().event("stats").data(html)), (api, session)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn live_view(api: &Api, session: &Session) -> Live {
    let answer = api.get(session, STATS).await;
    if !answer.ok() {
        return Live::failed(answer.message());
    }
    Live::from(&answer.body)
}

impl Live {
    fn failed(message: String) -> Self {
        Self {
            error: Some(message),
            tiles: Vec::new(),
            latencies: Vec::new(),
            now: Vec::new(),
            providers: Vec::new(),
            webhooks: (0, 0, 0, String::new()),
            cost: (String::new(), String::new(), String::new(), None),
            series: "[]".into(),
            updated: String::new(),
        }
    }

    fn from(stats: &Value) -> Self {
        let count = |status: &str| stats["jobs"][status].as_i64().unwrap_or(0);
        let minutes = stats["per_minute"].as_array().cloned().unwrap_or_default();
        // Per second when busy; per minute when a per-second figure would read 0.00.
        let rate = |status: &str| {
            let per_minute = count(status) as f64 / WINDOW_MINUTES as f64;
            if per_minute >= 6.0 {
                format!("{:.1} jobs/s over 15 min", per_minute / 60.0)
            } else {
                format!("{per_minute:.1} jobs/min over 15 min")
            }
        };
        let success = stats["success_rate"]
            .as_f64()
            .map_or("—".into(), |r| format!("{:.1} %", r * 100.0));
        let tiles = vec![
            ("Succeeded".into(), count("succeeded").to_string(), rate("succeeded")),
            ("Failed".into(), count("failed").to_string(), rate("failed")),
            ("Success rate".into(), success, "of finished jobs".into()),
            (
                "Queued".into(),
                count("queued").to_string(),
                "waiting for a worker".into(),
            ),
            ("Running".into(), count("running").to_string(), "in flight now".into()),
            ("Canceled".into(), count("canceled").to_string(), "by request".into()),
        ];
        let latency = |key: &str, label: &str| {
            let p = &stats["latency_ms"][key];
            (
                label.to_owned(),
                millis(p["p50"].as_f64()),
                millis(p["p95"].as_f64()),
                millis(p["p99"].as_f64()),
            )
        };
        let latencies = vec![
            latency("queue_wait", "Queue wait"),
            latency("token_wait", "Rate-limit wait"),
            latency("provider", "Provider"),
            latency("end_to_end", "End to end"),
        ];
        let now = stats["now"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                (
                    m["modality"].as_str().unwrap_or_default().to_owned(),
                    m["waiting"].as_i64().unwrap_or(0),
                    m["running"].as_i64().unwrap_or(0),
                )
            })
            .collect();
        let providers = stats["providers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                let limited = p["rate_limited"].as_i64().unwrap_or(0);
                ProviderRow {
                    name: p["provider"].as_str().unwrap_or_default().to_owned(),
                    calls: p["calls"].as_i64().unwrap_or(0),
                    limited,
                    waited: p["waited"].as_i64().unwrap_or(0),
                    longest: millis(p["max_token_wait_ms"].as_f64()),
                    throttled: limited > 0,
                }
            })
            .collect();
        let hooks = &stats["webhooks"];
        let webhooks = (
            hooks["delivered"].as_i64().unwrap_or(0),
            hooks["pending"].as_i64().unwrap_or(0),
            hooks["failed"].as_i64().unwrap_or(0),
            hooks["last_error"].as_str().unwrap_or_default().to_owned(),
        );
        let cost = &stats["cost"];
        let month = cost["month_usd"].as_f64().unwrap_or(0.0);
        let budget = cost["budget_usd"].as_f64();
        let cost = (
            usd(cost["today_usd"].as_f64().unwrap_or(0.0)),
            usd(month),
            budget.map(usd).unwrap_or_default(),
            budget
                .filter(|b| *b > 0.0)
                .map(|b| ((month / b) * 100.0).clamp(0.0, 100.0) as u32),
        );
        let series = minute_series(&minutes, &stats["generated_at"]);
        Self {
            error: None,
            tiles,
            latencies,
            now,
            providers,
            webhooks,
            cost,
            series,
            updated: super::views::time(&stats["generated_at"]),
        }
    }
}

/// The window's minutes, oldest first, each `[unix seconds, succeeded,
/// failed]`, minutes without finished jobs as zeros so the chart spans the window.
fn minute_series(minutes: &[Value], generated_at: &Value) -> String {
    let at = |v: &Value| {
        v.as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp())
    };
    let now = at(generated_at).unwrap_or_else(|| chrono::Utc::now().timestamp());
    let last = now - now.rem_euclid(60);
    let counts: std::collections::HashMap<i64, (i64, i64)> = minutes
        .iter()
        .filter_map(|m| {
            Some((
                at(&m["minute"])?,
                (m["succeeded"].as_i64().unwrap_or(0), m["failed"].as_i64().unwrap_or(0)),
            ))
        })
        .collect();
    let series: Vec<Value> = (0..=WINDOW_MINUTES)
        .rev()
        .map(|back| {
            let minute = last - back * 60;
            let (succeeded, failed) = counts.get(&minute).copied().unwrap_or((0, 0));
            json!([minute, succeeded, failed])
        })
        .collect();
    Value::Array(series).to_string()
}

impl IntoResponse for Live {
    fn into_response(self) -> Response {
        render(&self)
    }
}
