//! The jobs list with its filters, and a job's page: its timeline, its output
//! previewed, usage and cost, webhook deliveries (redeliver) and feedback.

use askama::Template;
use axum::{
    extract::{Path, Query},
    http::{HeaderMap, Method},
    response::{IntoResponse, Redirect, Response},
    Extension, Form,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{
    page::{render, Page},
    session::{encode, forbidden, CsrfForm, Session},
    views::{self, millis, pretty, text, time, usd, JobRow, Preview},
};
use crate::in_process::Api;

const STATUSES: &[&str] = &["queued", "running", "succeeded", "failed", "canceled"];

#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    status: String,
    #[serde(default)]
    model: String,
    /// `datetime-local` (UTC), as the form sends it.
    #[serde(default)]
    since: String,
    /// `key=value`, comma-separated.
    #[serde(default)]
    metadata: String,
    /// The operator's list: one project's jobs.
    #[serde(default)]
    project: String,
    #[serde(default)]
    cursor: String,
}

pub struct StatusOption {
    pub value: &'static str,
    pub selected: bool,
}

fn status_options(chosen: &str) -> Vec<StatusOption> {
    STATUSES
        .iter()
        .map(|value| StatusOption {
            value,
            selected: *value == chosen,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/jobs.html")]
struct JobsPage {
    page: Page,
    status_options: Vec<StatusOption>,
    filters: Filters,
    rows: Vec<JobRow>,
    next: Option<String>,
}

pub async fn list(session: Session, Extension(api): Extension<Api>, Query(filters): Query<Filters>) -> Response {
    let mut page = Page::new(&session, "jobs", "Jobs");
    let mut query = vec![("limit".to_owned(), "25".to_owned())];
    let mut add = |name: &str, value: &str| {
        if !value.trim().is_empty() {
            query.push((name.to_owned(), value.trim().to_owned()));
        }
    };
    add("status", &filters.status);
    add("model", &filters.model);
    add("project_id", &filters.project);
    add("cursor", &filters.cursor);
    if !filters.since.trim().is_empty() {
        // The form's minutes, read as UTC.
        let since = filters.since.trim();
        let rfc3339 = if since.len() == 16 {
            format!("{since}:00Z")
        } else {
            format!("{since}Z")
        };
        add("created_after", &rfc3339);
    }
    let mut bad_metadata = None;
    if !filters.metadata.trim().is_empty() {
        match metadata_filter(&filters.metadata) {
            Some(object) => add("metadata", &object.to_string()),
            None => bad_metadata = Some("Metadata filters are key=value pairs separated by commas.".to_owned()),
        }
    }
    let uri = format!("/v1/jobs?{}", query_string(&query));
    let answer = api.get(&session, &uri).await;
    let (rows, next) = if answer.ok() {
        let rows = answer.body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(JobRow::from)
            .collect();
        (rows, answer.body["next_cursor"].as_str().map(str::to_owned))
    } else {
        page.error = Some(answer.message());
        (Vec::new(), None)
    };
    page.error = page.error.or(bad_metadata);
    let next = next.map(|cursor| {
        let mut query: Vec<(String, String)> = [
            ("status", &filters.status),
            ("model", &filters.model),
            ("since", &filters.since),
            ("metadata", &filters.metadata),
            ("project", &filters.project),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect();
        query.push(("cursor".into(), cursor));
        format!("/console/jobs?{}", query_string(&query))
    });
    render(&JobsPage {
        page,
        status_options: status_options(&filters.status),
        filters,
        rows,
        next,
    })
}

fn metadata_filter(text: &str) -> Option<Value> {
    let mut object = Map::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=')?;
        object.insert(key.trim().to_owned(), Value::String(value.trim().to_owned()));
    }
    Some(Value::Object(object))
}

fn query_string(query: &[(String, String)]) -> String {
    query
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// One step of a job's timeline.
pub struct Step {
    pub at: String,
    pub what: String,
    pub detail: String,
}

pub struct Delivery {
    pub id: String,
    pub event: String,
    pub url: String,
    pub status: String,
    pub attempts: Vec<(String, String, String, String)>,
    pub last_error: String,
    pub can_redeliver: bool,
}

#[derive(Template)]
#[template(path = "console/job.html")]
struct JobPage {
    page: Page,
    id: String,
    model: String,
    provider: String,
    modality: String,
    status: String,
    attempts: String,
    error: String,
    previews: Vec<Preview>,
    timeline: Vec<Step>,
    usage: Vec<(String, String)>,
    input: String,
    metadata: String,
    deliveries: Vec<Delivery>,
    feedback: String,
    can_cancel: bool,
    /// Still going: the page reloads itself until it is not.
    live: bool,
}

#[derive(Deserialize, Default)]
pub struct Notice {
    notice: Option<String>,
}

pub async fn page(
    session: Session,
    Extension(api): Extension<Api>,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
) -> Response {
    let id = encode(&id);
    let answer = api.get(&session, &format!("/v1/jobs/{id}")).await;
    let page = Page::new(&session, "jobs", "Job").with_notice(notice.notice);
    if !answer.ok() {
        let status = answer.status;
        let mut response = render(&JobsPage {
            page: page.with_error(Some(answer.message())),
            status_options: status_options(""),
            filters: Filters::default(),
            rows: Vec::new(),
            next: None,
        });
        *response.status_mut() = status;
        return response;
    }
    let job = answer.body;
    let deliveries = api.get(&session, &format!("/v1/jobs/{id}/deliveries")).await;
    let feedback = api.get(&session, &format!("/v1/jobs/{id}/feedback")).await;
    let status = text(&job["status"]);
    let live = status == "queued" || status == "running";
    render(&JobPage {
        page: Page {
            title: format!("Job {}", text(&job["id"])),
            ..page
        },
        id: text(&job["id"]),
        model: text(&job["model"]),
        provider: text(&job["provider"]),
        modality: text(&job["modality"]),
        can_cancel: live,
        live,
        status,
        attempts: job["attempts"].to_string(),
        error: if job["error"].is_null() {
            String::new()
        } else {
            job["error"]["message"].as_str().map_or_else(
                || pretty(&job["error"]),
                |m| format!("{m} ({})", text(&job["error"]["code"])),
            )
        },
        previews: views::previews(&job["output"]),
        timeline: timeline(&job),
        usage: usage(&job["metrics"]),
        input: pretty(&job["input"]),
        metadata: pretty(&job["metadata"]),
        deliveries: deliveries.body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(delivery)
            .collect(),
        feedback: if feedback.ok() {
            pretty(&feedback.body)
        } else {
            String::new()
        },
    })
}

fn timeline(job: &Value) -> Vec<Step> {
    let mut steps = vec![Step {
        at: time(&job["created_at"]),
        what: "Submitted".into(),
        detail: format!("priority {}", text(&job["priority"])),
    }];
    let metrics = &job["metrics"];
    if !job["started_at"].is_null() {
        steps.push(Step {
            at: time(&job["started_at"]),
            what: "Claimed by a worker".into(),
            detail: format!("waited {} in the queue", millis(metrics["queue_ms"].as_f64())),
        });
    }
    if let Some(wait) = metrics["token_wait_ms"].as_f64().filter(|w| *w > 0.0) {
        steps.push(Step {
            at: String::new(),
            what: "Waited at the rate limits".into(),
            detail: millis(Some(wait)),
        });
    }
    for call in metrics["calls"].as_array().into_iter().flatten() {
        let status = call["status"]
            .as_u64()
            .map(|s| format!("HTTP {s}, "))
            .unwrap_or_default();
        let cost = call["cost_usd"]
            .as_f64()
            .map(|c| format!(", {}", usd(c)))
            .unwrap_or_default();
        steps.push(Step {
            at: time(&call["at"]),
            what: format!("Provider call (attempt {})", call["attempt"]),
            detail: format!(
                "{status}{} in {}{}{cost}",
                text(&call["outcome"]).replace('_', " "),
                millis(call["provider_ms"].as_f64()),
                if call["billed"].as_bool() == Some(true) {
                    ", billed"
                } else {
                    ""
                },
            ),
        });
    }
    if !job["run_at"].is_null() {
        steps.push(Step {
            at: time(&job["run_at"]),
            what: "Retry due".into(),
            detail: String::new(),
        });
    }
    if !job["completed_at"].is_null() {
        steps.push(Step {
            at: time(&job["completed_at"]),
            what: format!("Finished: {}", text(&job["status"])),
            detail: metrics["run_ms"]
                .as_f64()
                .map(|r| format!("the run took {}", millis(Some(r))))
                .unwrap_or_default(),
        });
    }
    steps
}

fn usage(metrics: &Value) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = metrics["usage"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(unit, amount)| (unit.replace('_', " "), amount.to_string()))
        .collect();
    if let Some(cost) = metrics["cost_usd"].as_f64() {
        rows.push(("cost".into(), usd(cost)));
    }
    if let Some(calls) = metrics["billed_calls"].as_u64() {
        rows.push(("billed calls".into(), calls.to_string()));
    }
    rows
}

fn delivery(d: &Value) -> Delivery {
    let status = text(&d["status"]);
    Delivery {
        id: text(&d["id"]),
        event: text(&d["event"]),
        url: text(&d["url"]),
        can_redeliver: status != "pending" && status != "delivering",
        status,
        attempts: d["attempt_log"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                (
                    a["attempt"].to_string(),
                    time(&a["at"]),
                    a["status_code"]
                        .as_u64()
                        .map_or_else(|| "no answer".into(), |s| s.to_string()),
                    a["error"]
                        .as_str()
                        .map_or_else(|| format!("{} ms", a["latency_ms"]), str::to_owned),
                )
            })
            .collect(),
        last_error: text(&d["last_error"]),
    }
}

pub async fn cancel(
    session: Session,
    Extension(api): Extension<Api>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !session.allows_change(&headers, &form.csrf) {
        return forbidden();
    }
    let id = encode(&id);
    let answer = api
        .send(&session, Method::POST, &format!("/v1/jobs/{id}/cancel"), None)
        .await;
    back_to(
        &id,
        if answer.ok() {
            "Canceled.".into()
        } else {
            answer.message()
        },
    )
}

pub async fn redeliver(
    session: Session,
    Extension(api): Extension<Api>,
    headers: HeaderMap,
    Path((id, delivery)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !session.allows_change(&headers, &form.csrf) {
        return forbidden();
    }
    let id = encode(&id);
    let delivery = encode(&delivery);
    let answer = api
        .send(
            &session,
            Method::POST,
            &format!("/v1/jobs/{id}/deliveries/{delivery}/redeliver"),
            Some(&json!({})),
        )
        .await;
    back_to(
        &id,
        if answer.ok() {
            "Redelivery scheduled.".into()
        } else {
            answer.message()
        },
    )
}

fn back_to(id: &str, notice: String) -> Response {
    Redirect::to(&format!("/console/jobs/{id}?notice={}", encode(&notice))).into_response()
}
