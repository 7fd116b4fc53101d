//! Forge, a made-up HTTP API that no DE adapter speaks, for the generic HTTP
//! provider (a provider of kind `http` with a mapping per model). It is as
//! strict about JSON types as real APIs are — a temperature sent as `"0.7"` is
//! a 400 — so a mapping that turned numbers into strings would fail here.
//! `Authorization: Token <key>`; under `/forge/v1`:
//!
//! - `POST /generate` `{"model", "input": {"prompt", "system"?}, "parameters"?:
//!   {"temperature"?: number 0–2, "max_new_tokens"?: integer ≥ 1, "top_p"?:
//!   number, "stop"?: [string]}}` → `{"id", "output": [{"text"}], "finish",
//!   "usage": {"prompt_tokens", "generated_tokens"}}`.
//! - `POST /images` `{"model", "prompt", "width"?, "height"?, "num_images"?: 1–4,
//!   "negative_prompt"?, "seed"?}` → `{"data": {"images": [{"url"}]}}`.
//! - `POST /tasks` with a `/generate` body → 202 `{"task": {"id", "state":
//!   "queued"}}`; `GET /tasks/{id}` → `{"task": {"id", "state"}, "result",
//!   "error"}`, the state moving `queued` → `running` → `succeeded` (with
//!   `result: {"text", "usage"}`) or `failed` (with `error: {"message"}`) over
//!   the operation duration.
//!
//! Errors are `{"errors": [{"code", "detail"}]}` (a shape no other simulated
//! provider uses, so only a mapping's `error_message` pointer finds the
//! message).

use std::time::Duration;

use axum::{
    http::{header::RETRY_AFTER, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Map, Value};

use super::{call::Call, random_id, rejection::Rejection, text, Dialect, Endpoint, Served, Usage};
use crate::{directives::Asks, media::Media, operations::Operation};

/// Why a task fails when `[[sim:operation_fail]]` gives no reason.
pub const DEFAULT_FAILURE: &str = "the worker running the task ran out of memory";

pub struct Forge;

impl Dialect for Forge {
    fn reject(rejection: &Rejection) -> Response {
        let body = json!({"errors": [{
            "code": rejection.code.unwrap_or(match rejection.status.as_u16() {
                400 => "invalid_request",
                401 => "unauthenticated",
                404 => "not_found",
                _ => "server_error",
            }),
            "detail": rejection.message,
        }]});
        (rejection.status, Json(body)).into_response()
    }

    fn failure(status: StatusCode, _model: Option<&str>) -> Rejection {
        Rejection::new(
            status,
            format!(
                "the forge says: {}",
                status.canonical_reason().unwrap_or("error").to_lowercase()
            ),
        )
    }

    fn rate_limited(retry_after_secs: Option<u64>, _model: Option<&str>) -> Response {
        let rejection = Rejection::new(StatusCode::TOO_MANY_REQUESTS, "slow down").code("rate_limited");
        let mut response = Self::reject(&rejection);
        if let Some(secs) = retry_after_secs {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

fn authorize(call: &Call) -> Result<(), Rejection> {
    match call.header("authorization").and_then(|v| v.strip_prefix("Token ")) {
        Some(key) if !key.trim().is_empty() => Ok(()),
        _ => Err(Rejection::new(
            StatusCode::UNAUTHORIZED,
            "send your key as Authorization: Token <key>",
        )),
    }
}

/// The body's object, refusing fields it does not know.
fn object<'v>(value: Option<&'v Value>, at: &str, known: &[&str]) -> Result<&'v Map<String, Value>, Rejection> {
    let fields = value
        .and_then(Value::as_object)
        .ok_or_else(|| Rejection::bad_request(format!("{at} must be an object")))?;
    if let Some(unknown) = fields.keys().find(|key| !known.contains(&key.as_str())) {
        return Err(Rejection::bad_request(format!("unknown field {at}.{unknown}")));
    }
    Ok(fields)
}

fn string<'v>(
    fields: &'v Map<String, Value>,
    at: &str,
    name: &str,
    required: bool,
) -> Result<Option<&'v str>, Rejection> {
    match fields.get(name) {
        None if required => Err(Rejection::bad_request(format!("{at}.{name} is required"))),
        None => Ok(None),
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(Some(text)),
        Some(other) => Err(Rejection::bad_request(format!(
            "{at}.{name} must be a non-empty string, got {other}"
        ))),
    }
}

fn integer(fields: &Map<String, Value>, at: &str, name: &str, min: u64, max: u64) -> Result<Option<u64>, Rejection> {
    match fields.get(name) {
        None => Ok(None),
        Some(value) => match value.as_u64() {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(Rejection::bad_request(format!(
                "{at}.{name} must be an integer from {min} to {max}, got {value}"
            ))),
        },
    }
}

fn number(fields: &Map<String, Value>, at: &str, name: &str, max: f64) -> Result<Option<f64>, Rejection> {
    match fields.get(name) {
        None => Ok(None),
        Some(value) => match value.as_f64() {
            Some(n) if (0.0..=max).contains(&n) => Ok(Some(n)),
            _ => Err(Rejection::bad_request(format!(
                "{at}.{name} must be a number from 0 to {max}, got {value}"
            ))),
        },
    }
}

/// A `/generate` (or `/tasks`) request as Forge reads it.
struct Generation<'v> {
    model: &'v str,
    prompt: &'v str,
    max_new_tokens: Option<u64>,
}

fn generation<'c>(call: &Call<'c>) -> Result<Generation<'c>, Rejection> {
    authorize(call)?;
    let body = object(call.body, "body", &["model", "input", "parameters"])?;
    let model = string(body, "body", "model", true)?.unwrap_or_default();
    let input = object(body.get("input"), "input", &["prompt", "system"])?;
    let prompt = string(input, "input", "prompt", true)?.unwrap_or_default();
    string(input, "input", "system", false)?;
    let mut max_new_tokens = None;
    if let Some(parameters) = body.get("parameters") {
        let parameters = object(
            Some(parameters),
            "parameters",
            &["temperature", "max_new_tokens", "top_p", "stop"],
        )?;
        number(parameters, "parameters", "temperature", 2.0)?;
        number(parameters, "parameters", "top_p", 1.0)?;
        max_new_tokens = integer(parameters, "parameters", "max_new_tokens", 1, 32_768)?;
        if let Some(stop) = parameters.get("stop") {
            let fine = stop
                .as_array()
                .is_some_and(|items| !items.is_empty() && items.iter().all(Value::is_string));
            if !fine {
                return Err(Rejection::bad_request(format!(
                    "parameters.stop must be a list of strings, got {stop}"
                )));
            }
        }
    }
    Ok(Generation {
        model,
        prompt,
        max_new_tokens,
    })
}

fn generation_prompt(call: &Call) -> Option<String> {
    call.body?.get("input")?.get("prompt")?.as_str().map(str::to_owned)
}

fn generation_system(call: &Call) -> Option<String> {
    call.body?.get("input")?.get("system")?.as_str().map(str::to_owned)
}

pub struct ForgeGenerate;

impl Endpoint for ForgeGenerate {
    type Dialect = Forge;
    const NAME: &'static str = "forge.generate";
    const MALFORMED: &'static [u8] = br#"{"id": "gen_sim", "output": [{"te"#;
    const RECORDS_BODY: bool = true;

    fn respond(call: &Call, prompt: &str) -> Result<Served, Rejection> {
        let request = generation(call)?;
        let input_tokens = text::tokens(request.prompt);
        let reply = text::reply(request.model, prompt, request.max_new_tokens);
        let body = json!({
            "id": random_id("gen_", 20),
            "output": [{"text": reply.text}],
            "finish": if reply.cut { "length" } else { "stop" },
            "usage": {"prompt_tokens": input_tokens, "generated_tokens": reply.tokens},
        });
        Ok(Served {
            response: Json(body).into_response(),
            usage: Usage {
                input: input_tokens,
                output: reply.tokens,
            },
        })
    }

    fn prompt(call: &Call) -> Option<String> {
        generation_prompt(call)
    }

    fn system(call: &Call) -> Option<String> {
        generation_system(call)
    }
}

pub struct ForgeImages;

impl Endpoint for ForgeImages {
    type Dialect = Forge;
    const NAME: &'static str = "forge.images";
    const MALFORMED: &'static [u8] = br#"{"data": {"images": [{"ur"#;
    const RECORDS_BODY: bool = true;

    fn respond(call: &Call, prompt: &str) -> Result<Served, Rejection> {
        authorize(call)?;
        let known = [
            "model",
            "prompt",
            "width",
            "height",
            "num_images",
            "negative_prompt",
            "seed",
        ];
        let body = object(call.body, "body", &known)?;
        string(body, "body", "model", true)?;
        string(body, "body", "prompt", true)?;
        string(body, "body", "negative_prompt", false)?;
        integer(body, "body", "seed", 0, u64::from(u32::MAX))?;
        let side = |name| integer(body, "body", name, 64, 2048).map(|n| n.unwrap_or(512) as u32);
        let media = Media::Png {
            width: side("width")?,
            height: side("height")?,
        };
        let count = integer(body, "body", "num_images", 1, 4)?.unwrap_or(1);
        let asks = Asks::read(prompt);
        let base = call.base();
        let images: Vec<Value> = (0..count)
            .map(|_| json!({"url": call.controls.files().link(&base, media, asks.file)}))
            .collect();
        Ok(Served {
            response: Json(json!({"data": {"images": images}})).into_response(),
            usage: Usage::default(),
        })
    }

    fn prompt(call: &Call) -> Option<String> {
        call.body?.get("prompt")?.as_str().map(str::to_owned)
    }
}

pub struct ForgeSubmitTask;

impl Endpoint for ForgeSubmitTask {
    type Dialect = Forge;
    const NAME: &'static str = "forge.task_submit";
    const MALFORMED: &'static [u8] = br#"{"task": {"id": "#;
    const RECORDS_BODY: bool = true;

    fn respond(call: &Call, prompt: &str) -> Result<Served, Rejection> {
        let request = generation(call)?;
        let asks = Asks::read(prompt);
        let input_tokens = text::tokens(request.prompt);
        let reply = text::reply(request.model, prompt, request.max_new_tokens);
        let duration = asks
            .operation_ms
            .map_or_else(|| call.controls.operation_duration(), Duration::from_millis);
        let result = json!({
            "text": reply.text,
            "usage": {"input_tokens": input_tokens, "output_tokens": reply.tokens},
        });
        let task = Operation::new(duration, asks.failure(DEFAULT_FAILURE), vec![], result);
        let id = random_id("task_", 16);
        call.controls.operations().insert(id.clone(), task);
        Ok(Served {
            response: (
                StatusCode::ACCEPTED,
                Json(json!({"task": {"id": id, "state": "queued"}})),
            )
                .into_response(),
            usage: Usage::default(),
        })
    }

    fn prompt(call: &Call) -> Option<String> {
        generation_prompt(call)
    }

    fn system(call: &Call) -> Option<String> {
        generation_system(call)
    }
}

pub struct ForgeTask;

impl Endpoint for ForgeTask {
    type Dialect = Forge;
    const NAME: &'static str = "forge.task";
    const MALFORMED: &'static [u8] = br#"{"task": {"#;

    fn respond(call: &Call, _prompt: &str) -> Result<Served, Rejection> {
        authorize(call)?;
        let id = call.param("id");
        let task = call
            .controls
            .operations()
            .get(id)
            .ok_or_else(|| Rejection::new(StatusCode::NOT_FOUND, format!("no task {id}")))?;
        let state = match (task.done(), &task.failure) {
            (true, Some(_)) => "failed",
            (true, None) => "succeeded",
            (false, _) if task.progress() < 0.2 => "queued",
            (false, _) => "running",
        };
        let body = json!({
            "task": {"id": id, "state": state},
            "result": (state == "succeeded").then(|| task.request.clone()),
            "error": task.failure.as_ref().filter(|_| task.done()).map(|reason| json!({"message": reason})),
        });
        Ok(Served {
            response: Json(body).into_response(),
            usage: Usage::default(),
        })
    }

    fn prompt(_call: &Call) -> Option<String> {
        None
    }

    fn model(_call: &Call) -> Option<String> {
        None
    }
}
