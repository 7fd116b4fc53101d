//! Webhooks: the project's signing secret (masked until asked for, rotated
//! here with the previous one signing on for an overlap) and the webhook URLs
//! that are disabled (after a 410 Gone) or paused, each enabled again here.

use std::collections::HashMap;

use askama::Template;
use axum::{
    http::{HeaderMap, Method},
    response::{IntoResponse, Redirect, Response},
    Extension, Form,
};
use serde_json::{json, Value};

use super::{
    page::{render, Page},
    session::{forbidden, Session},
    views::{text, time},
};
use crate::in_process::Api;

pub struct SecretRow {
    /// The first characters, enough to tell secrets apart.
    pub masked: String,
    pub secret: String,
    pub created: String,
    /// When a rotated-out secret stops signing; empty for the current one.
    pub retires: String,
}

pub struct EndpointRow {
    pub url: String,
    pub disabled: String,
    pub reason: String,
    pub paused: String,
}

/// How long the previous secret keeps signing after a rotation.
pub struct Overlap {
    pub secs: u64,
    pub label: &'static str,
    pub default: bool,
}

const OVERLAPS: &[(u64, &str)] = &[(0, "none"), (3600, "an hour"), (86_400, "a day"), (604_800, "a week")];

#[derive(Template)]
#[template(path = "console/webhooks.html")]
struct WebhooksPage {
    page: Page,
    secrets: Vec<SecretRow>,
    endpoints: Vec<EndpointRow>,
    overlaps: Vec<Overlap>,
}

pub async fn page(session: Session, Extension(api): Extension<Api>) -> Response {
    draw(&session, &api, None, None).await
}

async fn draw(session: &Session, api: &Api, notice: Option<String>, error: Option<String>) -> Response {
    let mut page = Page::new(session, "webhooks", "Webhooks")
        .with_notice(notice)
        .with_error(error);
    let secrets = api.get(session, "/v1/webhook-secret").await;
    let endpoints = api.get(session, "/v1/webhook-endpoints").await;
    for answer in [&secrets, &endpoints] {
        if !answer.ok() && page.error.is_none() {
            page.error = Some(answer.message());
        }
    }
    let secrets = secrets.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let secret = text(&s["secret"]);
            SecretRow {
                masked: format!("{}…", secret.chars().take(10).collect::<String>()),
                secret,
                created: time(&s["created_at"]),
                retires: time(&s["retires_at"]),
            }
        })
        .collect();
    let endpoints = endpoints.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| EndpointRow {
            url: text(&e["url"]),
            disabled: time(&e["disabled_at"]),
            reason: text(&e["disabled_reason"]),
            paused: time(&e["paused_until"]),
        })
        .collect();
    render(&WebhooksPage {
        page,
        secrets,
        endpoints,
        overlaps: OVERLAPS
            .iter()
            .map(|(secs, label)| Overlap {
                secs: *secs,
                label,
                default: *secs == 86_400,
            })
            .collect(),
    })
}

pub async fn rotate(
    session: Session,
    Extension(api): Extension<Api>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let overlap = form
        .get("overlap_secs")
        .and_then(|secs| secs.parse::<u64>().ok())
        .unwrap_or(86_400);
    let body = json!({ "overlap_secs": overlap });
    change(
        &session,
        &api,
        &headers,
        &form,
        "/v1/webhook-secret/rotate",
        &body,
        |_| None,
    )
    .await
}

pub async fn enable(
    session: Session,
    Extension(api): Extension<Api>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let body = json!({
        "url": form.get("url").map_or("", String::as_str),
        "redeliver": form.contains_key("redeliver"),
    });
    let notice = |answer: &Value| {
        Some(format!(
            "Enabled {}; {} deliveries sent again.",
            text(&answer["url"]),
            answer["redelivered"].as_u64().unwrap_or(0)
        ))
    };
    change(
        &session,
        &api,
        &headers,
        &form,
        "/v1/webhook-endpoints/enable",
        &body,
        notice,
    )
    .await
}

/// A change the page's form posted: the API's call with the session's
/// credential, then the page again, with `notice` of what the API answered
/// (none: back to the page as it now is) or the API's refusal.
async fn change(
    session: &Session,
    api: &Api,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    route: &str,
    body: &Value,
    notice: impl FnOnce(&Value) -> Option<String>,
) -> Response {
    if !session.allows_change(headers, form.get("csrf").map_or("", String::as_str)) {
        return forbidden();
    }
    let answer = api.send(session, Method::POST, route, Some(body)).await;
    if !answer.ok() {
        return draw(session, api, None, Some(answer.message())).await;
    }
    match notice(&answer.body) {
        Some(notice) => draw(session, api, Some(notice), None).await,
        None => Redirect::to("/console/webhooks").into_response(),
    }
}
