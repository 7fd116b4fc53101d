//! Shotstack's Edit API with `x-api-key`, under `/edit/{env}` or `/{env}`
//! (`env` is `stage` or `v1`):
//!
//! - `POST …/render` with `{"timeline", "output"}` (checked in `edit.rs`) queues
//!   a render: 201 `{"success": true, "message": "Created", "response":
//!   {"message": "Render Successfully Queued", "id"}}`.
//! - `GET …/render/{id}` reports it, the status moving with the time since
//!   submission against the operation duration: `queued`, `fetching`,
//!   `rendering`, `saving`, then `done` with `url` — or `failed` with `error`
//!   if a string in the edit asked for `[[sim:operation_fail]]` (default error:
//!   [`DEFAULT_FAILURE`]). The submitted edit comes back as `data`.
//!
//! A bad edit (`edit.rs`: an unknown asset type or key, an asset without its
//! required field, a clip with `duration` for `length`, …) is a 400
//! `{"success": false, "message": "Bad Request", "response": {"error": {"name":
//! "ValidationError", "details": [{"message", "path", "type"}]}}}`;
//! what the AWS gateway in front answers itself (a missing key, 429, 5xx) is
//! `{"message": "Forbidden"}` and the like.

mod assets;
mod edit;
mod timeline;

use std::time::Duration;

use axum::{
    http::{header::RETRY_AFTER, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use self::edit::{path_array, Edit};
use super::{call::Call, rejection::Rejection, Dialect, Endpoint, Served, Usage};
use crate::{directives::Asks, operations::Operation};

/// Why a render fails when `[[sim:operation_fail]]` gives no reason.
pub const DEFAULT_FAILURE: &str = "Asset at https://example.com/missing.mp4 could not be downloaded: 403 Forbidden";
const ENVIRONMENTS: &[&str] = &["stage", "v1"];
/// The account every simulated render belongs to.
const OWNER: &str = "simulat0r";

pub struct Shotstack;

impl Dialect for Shotstack {
    fn reject(rejection: &Rejection) -> Response {
        let status = rejection.status;
        let body = match status.as_u16() {
            400 => json!({
                "success": false,
                "message": "Bad Request",
                "response": { "error": {
                    "name": "ValidationError",
                    "details": [{
                        "message": rejection.message,
                        "path": rejection.param.as_deref().map(path_array).unwrap_or_default(),
                        "type": rejection.code.unwrap_or("any.invalid"),
                    }],
                } },
            }),
            401 | 403 | 429 | 500.. => json!({ "message": rejection.message }),
            _ => json!({
                "success": false,
                "message": status.canonical_reason().unwrap_or("Error"),
                "response": { "error": rejection.message },
            }),
        };
        (status, Json(body)).into_response()
    }

    fn failure(status: StatusCode, _model: Option<&str>) -> Rejection {
        let message = match status.as_u16() {
            500 => "Internal server error",
            504 => "Endpoint request timed out",
            _ => status.canonical_reason().unwrap_or("Error"),
        };
        Rejection::new(status, message)
    }

    fn rate_limited(retry_after_secs: Option<u64>, _model: Option<&str>) -> Response {
        let mut response = Self::reject(&Rejection::new(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"));
        if let Some(secs) = retry_after_secs {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The key, and an environment that exists.
fn authorize<'c>(call: &'c Call) -> Result<&'c str, Rejection> {
    if call.header("x-api-key").is_none() {
        return Err(Rejection::new(StatusCode::FORBIDDEN, "Forbidden"));
    }
    let env = call.param("env");
    if !ENVIRONMENTS.contains(&env) {
        return Err(Rejection::new(
            StatusCode::NOT_FOUND,
            format!("Unknown environment '{env}'."),
        ));
    }
    Ok(env)
}

pub struct SubmitRender;

impl Endpoint for SubmitRender {
    type Dialect = Shotstack;
    const NAME: &'static str = "shotstack.render";
    const MALFORMED: &'static [u8] = br#"{"success": true, "message": "Created", "response": {"message": "Render Succ"#;

    fn respond(call: &Call, prompt: &str) -> Result<Served, Rejection> {
        let env = authorize(call)?;
        let edit = Edit::parse(call.body)?;
        let asks = Asks::read(prompt);
        let url = call.controls.files().link(&call.base(), edit.output, asks.file);
        let duration = asks
            .operation_ms
            .map_or_else(|| call.controls.operation_duration(), Duration::from_millis);
        let submitted = json!({ "env": env, "edit": call.body, "duration": edit.duration });
        let render = Operation::new(duration, asks.failure(DEFAULT_FAILURE), vec![url], submitted);
        let id = uuid::Uuid::new_v4().to_string();
        call.controls.operations().insert(id.clone(), render);
        let body = json!({
            "success": true,
            "message": "Created",
            "response": { "message": "Render Successfully Queued", "id": id },
        });
        Ok(Served {
            response: (StatusCode::CREATED, Json(body)).into_response(),
            usage: Usage::default(),
        })
    }

    /// Every string in the edit, so a directive may sit in a title's text, an
    /// asset's URL or anywhere else.
    fn prompt(call: &Call) -> Option<String> {
        let mut strings = Vec::new();
        collect_strings(call.body?, &mut strings);
        Some(strings.join("\n"))
    }
}

fn collect_strings<'v>(value: &'v Value, into: &mut Vec<&'v str>) {
    match value {
        Value::String(text) => into.push(text),
        Value::Array(values) => values.iter().for_each(|v| collect_strings(v, into)),
        Value::Object(fields) => fields.values().for_each(|v| collect_strings(v, into)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

pub struct RenderStatus;

impl Endpoint for RenderStatus {
    type Dialect = Shotstack;
    const NAME: &'static str = "shotstack.status";
    const MALFORMED: &'static [u8] = br#"{"success": true, "message": "OK", "response": {"id": "#;

    fn respond(call: &Call, _prompt: &str) -> Result<Served, Rejection> {
        let env = authorize(call)?;
        let id = call.param("id");
        let render = call
            .controls
            .operations()
            .get(id)
            .filter(|render| render.request["env"] == env)
            .ok_or_else(|| Rejection::new(StatusCode::NOT_FOUND, format!("Render {id} not found.")))?;
        let mut response = json!({
            "id": id,
            "owner": OWNER,
            "plan": "basic",
            "status": status(&render),
            "url": null,
            "poster": null,
            "thumbnail": null,
            "created": timestamp(render.created),
            "updated": timestamp(render.updated()),
        });
        if render.done() {
            response["duration"] = render.request["duration"].clone();
            response["renderTime"] = ((render.updated() - render.created).num_milliseconds() as f64).into();
            match &render.failure {
                Some(reason) => response["error"] = reason.clone().into(),
                None => response["url"] = render.outputs.first().cloned().into(),
            }
        }
        if call.query("data") != Some("false") {
            response["data"] = render.request["edit"].clone();
        }
        let body = json!({ "success": true, "message": "OK", "response": response });
        Ok(Served {
            response: Json(body).into_response(),
            usage: Usage::default(),
        })
    }

    fn prompt(_call: &Call) -> Option<String> {
        None
    }
}

/// Where a render stands, by how far along its duration it is.
fn status(render: &Operation) -> &'static str {
    if render.done() {
        return if render.failure.is_some() { "failed" } else { "done" };
    }
    match render.progress() {
        p if p < 0.1 => "queued",
        p if p < 0.3 => "fetching",
        p if p < 0.8 => "rendering",
        _ => "saving",
    }
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}
