//! Predictions: a Replicate prediction is a DE job. Created through the native
//! `POST /v1/jobs` (the input is the model's DE input, `Prefer: wait=N` as
//! Replicate takes it), read through `GET /v1/jobs/{id}`, canceled through its
//! cancel, listed through `GET /v1/jobs` with absolute `next` links. A job is
//! drawn as a prediction: `queued` is `starting`, `running` `processing`; a
//! blocking create whose wait ran out answers `starting` whatever the job is
//! doing (the official clients take any other status as finished); the output
//! is the text, or the files' links; `metrics` has `predict_time` and
//! `total_time` in seconds.

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
const SERVED: &[&str] = &["version", "input"];
const NOT_YET: &[&str] = &["webhook", "webhook_events_filter", "stream"];

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
    let submit = json!({
        "model": model["id"],
        "input": request.get("input").cloned().unwrap_or_else(|| json!({})),
    });
    let answer = api
        .call(bearer(headers), Method::POST, "/v1/jobs", &passed, Some(&submit))
        .await;
    if !answer.ok() {
        return Err(Problem::from_native(answer.status, &answer.body));
    }
    let mut prediction = prediction(state, &answer.body, &model);
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
    let model = model_of(&api, &headers, &answer.body).await;
    Ok(Json(prediction(&state, &answer.body, &model)).into_response())
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
    let model = model_of(&api, &headers, &answer.body).await;
    Ok(Json(prediction(&state, &answer.body, &model)).into_response())
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
    let models = api.get(bearer(&headers), "/v1/models").await.body;
    let results: Vec<Value> = answer.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|job| prediction(&state, job, &model_in(&models, job)))
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

/// The catalog entry of the job's model (for its provider, the `owner`).
async fn model_of(api: &Api, headers: &HeaderMap, job: &Value) -> Value {
    let models = api.get(bearer(headers), "/v1/models").await.body;
    model_in(&models, job)
}

fn model_in(models: &Value, job: &Value) -> Value {
    models["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["id"] == job["model"])
        .cloned()
        .unwrap_or_else(|| json!({ "id": job["model"], "provider": "de" }))
}

fn self_url(state: &AppState, path: &str) -> String {
    format!(
        "{}/replicate/v1/{path}",
        state.settings.producer.public_url.trim_end_matches('/')
    )
}

/// A DE job as a Replicate prediction.
fn prediction(state: &AppState, job: &Value, model: &Value) -> Value {
    let id = job["id"].as_str().unwrap_or_default();
    let status = match job["status"].as_str() {
        Some("queued") | None => "starting",
        Some("running") => "processing",
        Some(other) => other,
    };
    let output = match &job["output"] {
        Value::Object(output) => {
            let links: Vec<Value> = output
                .get("files")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|file| file["url"].clone())
                .collect();
            // One recording or video is one file; images are a list.
            match (job["modality"].as_str(), links.len()) {
                (Some("audio" | "video"), 1) => links.into_iter().next().unwrap_or(Value::Null),
                _ => Value::Array(links),
            }
        }
        other => other.clone(),
    };
    let seconds = |ms: &Value| ms.as_f64().map(|ms| ms / 1000.0);
    let total_time = match (moment(&job["created_at"]), moment(&job["completed_at"])) {
        (Some(created), Some(completed)) => Some((completed - created).num_milliseconds() as f64 / 1000.0),
        _ => None,
    };
    let mut metrics = Map::new();
    if let Some(predict) = seconds(&job["metrics"]["run_ms"]) {
        metrics.insert("predict_time".into(), json!(predict));
    }
    if let Some(total) = total_time {
        metrics.insert("total_time".into(), json!(total));
    }
    for name in ["input_tokens", "output_tokens"] {
        if let Some(tokens) = job["metrics"][name].as_u64() {
            metrics.insert(name.into(), json!(tokens));
        }
    }
    let prediction_url = format!("{}/{}", self_url(state, "predictions"), encode(id));
    json!({
        "id": id,
        "model": format!("{}/{}", model["provider"].as_str().unwrap_or("de"), job["model"].as_str().unwrap_or_default()),
        "version": "",
        "status": status,
        "input": job["input"],
        "output": output,
        "logs": "",
        "error": job["error"]["message"],
        "metrics": metrics,
        "created_at": job["created_at"],
        "started_at": job["started_at"],
        "completed_at": job["completed_at"],
        "data_removed": false,
        "urls": {
            "get": prediction_url,
            "cancel": format!("{prediction_url}/cancel"),
        },
    })
}

fn moment(value: &Value) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    value
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
}
