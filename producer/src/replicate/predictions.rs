//! Predictions: a Replicate prediction is a DE job. Created through the native
//! `POST /v1/jobs` (the input is the model's DE input, `Prefer: wait=N` as
//! Replicate takes it), read through `GET /v1/jobs/{id}`, canceled through its
//! cancel, listed through `GET /v1/jobs` with absolute `next` links. A job is
//! drawn as a prediction: `queued` is `starting`, `running` `processing`; a
//! blocking create whose wait ran out answers `starting` whatever the job is
//! doing (the official clients take any other status as finished); the output
//! is the text, or the files' links; `metrics` has `predict_time` and
//! `total_time` in seconds (`electrons_domain::prediction`). A `webhook` is
//! the job's, told as predictions, signed with the project's secret
//! (`GET /webhooks/default/secret`).

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
    Extension, Json,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::problem::Problem;
use crate::{
    in_process::{bearer, encode, Api},
    state::AppState,
};

/// What a create may carry; the rest is refused by name.
const SERVED: &[&str] = &[
    "version",
    "input",
    "webhook",
    "webhook_events_filter",
    "webhook_completed",
];
const NOT_YET: &[&str] = &["stream"];
/// Replicate's webhook events. A DE job's output arrives whole when it
/// finishes and it writes no logs, so `output` and `logs` are told with `completed`.
const EVENTS: &[&str] = &["start", "output", "logs", "completed"];

pub async fn create(
    State(state): State<AppState>,
    Extension(api): Extension<Api>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let request = read(&body)?;
    let Some(version) = request.get("version").and_then(Value::as_str) else {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_field",
            "version is required: the model as owner/name (name is DE's model id)",
        ));
    };
    let (owner, name) = version.split_once('/').unwrap_or(("de", version));
    submit(&state, &api, &headers, owner, name, &request).await
}

pub async fn create_for_model(
    State(state): State<AppState>,
    Extension(api): Extension<Api>,
    headers: HeaderMap,
    Path((owner, name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Problem> {
    let request = read(&body)?;
    if request.contains_key("version") {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "a model's predictions take no version: the path names the model",
        ));
    }
    submit(&state, &api, &headers, &owner, &name, &request).await
}

fn read(body: &[u8]) -> Result<Map<String, Value>, Problem> {
    let invalid = |detail: String| Problem::new(StatusCode::BAD_REQUEST, "invalid_json", detail);
    let value: Value = serde_json::from_slice(body).map_err(|e| invalid(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(request) = value else {
        return Err(invalid("the body must be a JSON object".into()));
    };
    for name in request.keys() {
        if NOT_YET.contains(&name.as_str()) {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unsupported_field",
                format!("DE's Replicate-compatible API does not support `{name}` yet"),
            ));
        }
        if !SERVED.contains(&name.as_str()) {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_field",
                format!("`{name}` is not a field of a prediction"),
            ));
        }
    }
    Ok(request)
}

/// The model `owner/name` names: DE's model `name`, whose provider is `owner`
/// (or `de`, for any).
async fn model_named(api: &Api, headers: &HeaderMap, owner: &str, name: &str) -> Result<Value, Problem> {
    let answer = api.get(bearer(headers), "/v1/models").await;
    if !answer.ok() {
        return Err(Problem::from_native(answer.status, &answer.body));
    }
    let model = answer.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["id"] == name)
        .cloned()
        .ok_or_else(|| {
            Problem::new(
                StatusCode::NOT_FOUND,
                "unknown_model",
                format!("there is no model {owner}/{name}: name is DE's model id (GET /v1/models lists them)"),
            )
        })?;
    let provider = model["provider"].as_str().unwrap_or_default();
    if owner != "de" && owner != provider {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "unknown_model",
            format!("there is no model {owner}/{name}; it is {provider}/{name} (or de/{name})"),
        ));
    }
    Ok(model)
}

async fn submit(
    state: &AppState,
    api: &Api,
    headers: &HeaderMap,
    owner: &str,
    name: &str,
    request: &Map<String, Value>,
) -> Result<Response, Problem> {
    let model = model_named(api, headers, owner, name).await?;
    let wait = crate::routes::prefer_wait(headers).map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_header",
            "Prefer: wait=N takes whole seconds (or is `wait`)",
        )
    })?;
    // `Prefer: wait` alone is Replicate's longest wait, 60 s.
    let blocking = wait.is_some() || prefers_bare_wait(headers);
    let mut passed = Vec::new();
    if blocking {
        let seconds = wait.unwrap_or(60).clamp(1, 60);
        if let Ok(value) = HeaderValue::from_str(&format!("wait={seconds}")) {
            passed.push((HeaderName::from_static("prefer"), value));
        }
    }
    for name in ["idempotency-key", "x-request-id"] {
        if let Some(value) = headers.get(name) {
            passed.push((HeaderName::from_static(name), value.clone()));
        }
    }
    let mut submit = json!({
        "model": model["id"],
        "input": request.get("input").cloned().unwrap_or_else(|| json!({})),
    });
    if let Some((webhook, events)) = webhook(request)? {
        submit["webhook"] = json!(webhook);
        submit["webhook_events_filter"] = json!(events);
        submit["webhook_format"] = json!("prediction");
    }
    let answer = api
        .call(bearer(headers), Method::POST, "/v1/jobs", &passed, Some(&submit))
        .await;
    if !answer.ok() {
        return Err(Problem::from_native(answer.status, &answer.body));
    }
    let mut prediction = prediction(state, &answer.body);
    // The clients take anything but `starting` after a blocking create as finished.
    if blocking && !finished(&answer.body) {
        prediction["status"] = json!("starting");
    }
    let status = if finished(&answer.body) {
        StatusCode::CREATED
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(prediction)).into_response())
}

/// The webhook a create asks for and the native events it maps to: `webhook`
/// with `webhook_events_filter` (default every event), or the older
/// `webhook_completed` (completion only).
fn webhook(request: &Map<String, Value>) -> Result<Option<(String, Vec<&'static str>)>, Problem> {
    let invalid = |detail: String| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", detail);
    let text = |name: &str| match request.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(url)) => Ok(Some(url.clone())),
        Some(_) => Err(invalid(format!("{name} must be a URL"))),
    };
    let (url, asked) = match (text("webhook")?, text("webhook_completed")?) {
        (Some(url), _) => (url, request.get("webhook_events_filter")),
        (None, Some(url)) => return Ok(Some((url, vec!["completed"]))),
        (None, None) if request.contains_key("webhook_events_filter") => {
            return Err(invalid("webhook_events_filter needs a webhook".into()))
        }
        (None, None) => return Ok(None),
    };
    let asked: Vec<&str> = match asked {
        None | Some(Value::Null) => EVENTS.to_vec(),
        Some(Value::Array(events)) => events.iter().map(|e| e.as_str().unwrap_or_default()).collect(),
        Some(_) => return Err(invalid("webhook_events_filter must be a list of events".into())),
    };
    if let Some(unknown) = asked.iter().find(|event| !EVENTS.contains(event)) {
        return Err(invalid(format!(
            "unknown webhook event {unknown:?}; use any of {}",
            EVENTS.join(", ")
        )));
    }
    let mut events = Vec::new();
    if asked.contains(&"start") {
        events.push("start");
    }
    if asked.iter().any(|event| *event != "start") {
        events.push("completed");
    }
    Ok(Some((url, events)))
}

fn prefers_bare_wait(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .any(|preference| preference.trim() == "wait")
}

fn finished(job: &Value) -> bool {
    matches!(job["status"].as_str(), Some("succeeded" | "failed" | "canceled"))
}

pub async fn get(
    State(state): State<AppState>,
    Extension(api): Extension<Api>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let answer = api.get(bearer(&headers), &format!("/v1/jobs/{}", encode(&id))).await;
    if !answer.ok() {
        return Err(Problem::from_native(answer.status, &answer.body));
    }
    Ok(Json(prediction(&state, &answer.body)).into_response())
}

pub async fn cancel(
    State(state): State<AppState>,
    Extension(api): Extension<Api>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let uri = format!("/v1/jobs/{}/cancel", encode(&id));
    let answer = api.send(bearer(&headers), Method::POST, &uri, None).await;
    if !answer.ok() {
        return Err(Problem::from_native(answer.status, &answer.body));
    }
    Ok(Json(prediction(&state, &answer.body)).into_response())
}

#[derive(Deserialize)]
pub struct Page {
    cursor: Option<String>,
    /// Not Replicate's (its pages are 100): a smaller page, 1 to 100.
    limit: Option<u32>,
}

pub async fn list(
    State(state): State<AppState>,
    Extension(api): Extension<Api>,
    headers: HeaderMap,
    Query(page): Query<Page>,
) -> Result<Response, Problem> {
    let limit = page.limit.unwrap_or(100).clamp(1, 100);
    let mut uri = format!("/v1/jobs?limit={limit}");
    if let Some(cursor) = &page.cursor {
        uri.push_str(&format!("&cursor={}", encode(cursor)));
    }
    let answer = api.get(bearer(&headers), &uri).await;
    if !answer.ok() {
        return Err(Problem::from_native(answer.status, &answer.body));
    }
    let results: Vec<Value> = answer.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|job| prediction(&state, job))
        .collect();
    let next = answer.body["next_cursor"].as_str().map(|cursor| {
        let mut next = format!("{}?cursor={}", self_url(&state, "predictions"), encode(cursor));
        if page.limit.is_some() {
            next.push_str(&format!("&limit={limit}"));
        }
        next
    });
    Ok(Json(json!({ "previous": null, "next": next, "results": results })).into_response())
}

fn self_url(state: &AppState, path: &str) -> String {
    format!(
        "{}/replicate/v1/{path}",
        state.settings.producer.public_url.trim_end_matches('/')
    )
}

/// A DE job as a Replicate prediction.
fn prediction(state: &AppState, job: &Value) -> Value {
    electrons_domain::prediction::of(job, &state.settings.producer.public_url)
}
