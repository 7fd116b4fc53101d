//! The fleet-wide rate limits (the operator's): each limit's configuration
//! with its live levels, leases, pause and counters, and a form to change it
//! (`PUT /v1/admin/rate-limits/{id}`; workers apply it on their next call).

use std::collections::HashMap;

use askama::Template;
use axum::{
    extract::{Path, Query},
    http::{HeaderMap, Method},
    response::{IntoResponse, Redirect, Response},
    Extension, Form,
};
use serde::Deserialize;
use serde_json::Value;

use super::{
    page::{render, Page},
    session::{encode, forbidden, Session},
    views::{text, time},
};
use crate::in_process::Api;

/// The settings the form changes: (field, label).
const EDITABLE: &[(&str, &str)] = &[
    ("requests_per_interval", "Requests per interval"),
    ("request_interval_ms", "Interval (ms)"),
    ("request_burst", "Burst"),
    ("tokens_per_interval", "Tokens per interval"),
    ("max_concurrent", "At once"),
];

pub struct LimitRow {
    pub id: String,
    pub scope: String,
    pub rate: String,
    /// The request bucket's level now, as a share of its burst (0–100).
    pub fill: u32,
    pub level: String,
    pub leases: String,
    pub paused: String,
    pub counters: String,
    pub settings: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "console/rate_limits.html")]
struct LimitsPage {
    page: Page,
    limits: Vec<LimitRow>,
}

#[derive(Deserialize, Default)]
pub struct Notice {
    notice: Option<String>,
}

pub async fn page(session: Session, Extension(api): Extension<Api>, Query(notice): Query<Notice>) -> Response {
    draw(&session, &api, notice.notice, None).await
}

async fn draw(session: &Session, api: &Api, notice: Option<String>, error: Option<String>) -> Response {
    let answer = api.get(session, "/v1/admin/rate-limits").await;
    let mut page = Page::new(session, "rate-limits", "Rate limits")
        .with_notice(notice)
        .with_error(error);
    if !answer.ok() {
        page.error = page.error.or(Some(match answer.code() {
            Some("unauthorized") => {
                "Rate limits are the operator's: sign in with the operator's token (DE_ADMIN_TOKEN).".into()
            }
            _ => answer.message(),
        }));
    }
    let limits = answer.body["data"].as_array().into_iter().flatten().map(row).collect();
    render(&LimitsPage { page, limits })
}

fn row(limit: &Value) -> LimitRow {
    let number = |name: &str| limit[name].as_f64();
    let scope = match (
        limit["provider"].as_str(),
        limit["model"].as_str(),
        limit["project"].as_str(),
    ) {
        (Some(provider), Some(model), _) => format!("{provider} · {model}"),
        (Some(provider), None, _) => provider.to_owned(),
        (None, _, Some(project)) => format!("project {project}"),
        _ => String::new(),
    };
    let rate = match (number("requests_per_interval"), number("request_interval_ms")) {
        (Some(n), Some(ms)) => format!("{n} per {} ms", ms),
        _ => "no request limit".into(),
    };
    let burst = number("request_burst").or(number("requests_per_interval"));
    let level = number("request_level").unwrap_or(0.0);
    let fill = burst
        .filter(|b| *b > 0.0)
        .map_or(0, |b| ((level / b) * 100.0).clamp(0.0, 100.0) as u32);
    LimitRow {
        id: text(&limit["id"]),
        scope,
        rate,
        fill,
        level: burst.map_or_else(|| format!("{level:.1}"), |b| format!("{level:.1} of {b}")),
        leases: limit["max_concurrent"]
            .as_i64()
            .map_or_else(String::new, |max| format!("{} of {max}", limit["active_leases"])),
        paused: time(&limit["paused_until"]),
        counters: format!(
            "{} granted · {} waited · {} deferred · {} 429s",
            limit["granted"], limit["waited"], limit["deferred"], limit["throttled"]
        ),
        settings: EDITABLE
            .iter()
            .map(|(field, label)| {
                let value = match limit[*field].as_f64() {
                    None => String::new(),
                    Some(n) if n.fract() == 0.0 => format!("{n:.0}"),
                    Some(n) => n.to_string(),
                };
                (field.to_string(), label.to_string(), value)
            })
            .collect(),
    }
}

pub async fn update(
    session: Session,
    Extension(api): Extension<Api>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !session.allows_change(&headers, form.get("csrf").map_or("", String::as_str)) {
        return forbidden();
    }
    let id = encode(&id);
    let current = api.get(&session, &format!("/v1/admin/rate-limits/{id}")).await;
    if !current.ok() {
        return draw(&session, &api, None, Some(current.message())).await;
    }
    // The whole configuration goes back, with the form's fields changed.
    const CONFIG: &[&str] = &[
        "provider",
        "model",
        "project",
        "requests_per_interval",
        "request_interval_ms",
        "request_burst",
        "arrival_margin_ms",
        "tokens_per_interval",
        "input_tokens_per_interval",
        "output_tokens_per_interval",
        "token_interval_ms",
        "max_concurrent",
        "lease_ms",
    ];
    let mut config = serde_json::Map::new();
    for name in CONFIG {
        let value = current.body[*name].clone();
        if !value.is_null() {
            config.insert(name.to_string(), value);
        }
    }
    for (field, label) in EDITABLE {
        let Some(raw) = form.get(*field).map(|v| v.trim()) else {
            continue;
        };
        if raw.is_empty() {
            config.remove(*field);
            continue;
        }
        let Ok(number) = raw.parse::<f64>() else {
            return draw(&session, &api, None, Some(format!("{label} must be a number."))).await;
        };
        // Rates and bursts may be fractions; intervals, tokens and counts are whole.
        let value = if matches!(*field, "requests_per_interval" | "request_burst") {
            Value::from(number)
        } else if number.fract() == 0.0 {
            Value::from(number as i64)
        } else {
            return draw(&session, &api, None, Some(format!("{label} must be a whole number."))).await;
        };
        config.insert(field.to_string(), value);
    }
    let answer = api
        .send(
            &session,
            Method::PUT,
            &format!("/v1/admin/rate-limits/{id}"),
            Some(&Value::Object(config)),
        )
        .await;
    if answer.ok() {
        let notice = encode(&format!("Saved {id}; workers apply it on their next call."));
        Redirect::to(&format!("/console/rate-limits?notice={notice}")).into_response()
    } else {
        draw(&session, &api, None, Some(answer.message())).await
    }
}
