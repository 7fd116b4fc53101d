//! Google's Gemini API: authentication (`x-goog-api-key`, or `?key=`), the
//! error body `{"error": {"code", "message", "status"}}` with gRPC status names,
//! and the routes — one path, `POST /v1beta/models/{model}:{method}`, serves
//! both image generation (`generateContent`, `gemini_image.rs`) and Veo
//! (`predictLongRunning`, with its operations and downloads in `veo.rs`).

mod gemini_image;
mod veo;

use axum::{
    body::Bytes,
    extract::{RawQuery, State},
    http::{header::RETRY_AFTER, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde_json::json;

use self::{
    gemini_image::GenerateContent,
    veo::{Download, Operation, PredictLongRunning},
};
use super::{
    call::{Call, Params},
    handle,
    rejection::Rejection,
    Dialect,
};
use crate::controls::Controls;

pub fn router() -> Router<Controls> {
    Router::new()
        .route("/v1beta/models/{model_method}", post(model_method))
        .route(
            "/v1beta/models/{model}/operations/{operation}",
            get(handle::<Operation>),
        )
        .route("/v1beta/files/{file_method}", get(file_method))
}

/// `POST /v1beta/models/{model}:{method}`, handed to the method's endpoint with
/// `model` as its path parameter.
async fn model_method(
    controls: State<Controls>,
    Params(params): Params,
    query: RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = params.first().map(|(_, value)| value.as_str()).unwrap_or_default();
    let Some((model, method)) = target.rsplit_once(':') else {
        return unknown_method(target);
    };
    let params = Params(vec![("model".into(), model.into())]);
    match method {
        "generateContent" => handle::<GenerateContent>(controls, params, query, headers, body).await,
        "predictLongRunning" => handle::<PredictLongRunning>(controls, params, query, headers, body).await,
        _ => unknown_method(target),
    }
}

/// `GET /v1beta/files/{file}:download`, handed on with `file` as its path parameter.
async fn file_method(
    controls: State<Controls>,
    Params(params): Params,
    query: RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = params.first().map(|(_, value)| value.as_str()).unwrap_or_default();
    match target.rsplit_once(':') {
        Some((file, "download")) => {
            let params = Params(vec![("file".into(), file.into())]);
            handle::<Download>(controls, params, query, headers, body).await
        }
        _ => unknown_method(target),
    }
}

fn unknown_method(target: &str) -> Response {
    Google::reject(&Rejection::new(
        StatusCode::NOT_FOUND,
        format!("Method not found: {target}."),
    ))
}

pub struct Google;

impl Dialect for Google {
    fn reject(rejection: &Rejection) -> Response {
        let status = rejection.status.as_u16();
        let body = json!({ "error": {
            "code": status,
            "message": rejection.message,
            "status": grpc_status(status),
        } });
        (rejection.status, Json(body)).into_response()
    }

    fn failure(status: StatusCode, model: Option<&str>) -> Rejection {
        let message = match status.as_u16() {
            401 => "API key not valid. Please pass a valid API key.".to_string(),
            404 => format!(
                "models/{} is not found for API version v1beta.",
                model.unwrap_or_default()
            ),
            500 => "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting".to_string(),
            503 => "The model is overloaded. Please try again later.".to_string(),
            504 => "Deadline expired before operation could complete.".to_string(),
            _ => format!("Simulated {status} error."),
        };
        Rejection::new(status, message)
    }

    /// Google tells the wait in a `RetryInfo` detail; `retry-after` is set too,
    /// as every simulated 429 has it.
    fn rate_limited(retry_after_secs: Option<u64>, _model: Option<&str>) -> Response {
        let mut error = json!({
            "code": 429,
            "message": "Resource has been exhausted (e.g. check quota).",
            "status": "RESOURCE_EXHAUSTED",
        });
        if let Some(secs) = retry_after_secs {
            error["details"] = json!([{
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": format!("{secs}s"),
            }]);
        }
        let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(json!({ "error": error }))).into_response();
        if let Some(secs) = retry_after_secs {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The canonical gRPC code name Google reports next to an HTTP status.
fn grpc_status(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "NOT_IMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    }
}

/// Any non-empty key in `x-goog-api-key` or the `key` query parameter.
pub fn authorize(call: &Call) -> Result<(), Rejection> {
    let key = call
        .header("x-goog-api-key")
        .or(call.query("key").filter(|k| !k.is_empty()));
    match key {
        Some(_) => Ok(()),
        None => Err(Rejection::new(
            StatusCode::FORBIDDEN,
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        )),
    }
}

/// `models/{model} is not found … for {method}`, as Google answers a model that
/// exists but does not do what was asked.
pub fn unsupported(model: &str, method: &str) -> Rejection {
    Rejection::new(
        StatusCode::NOT_FOUND,
        format!("models/{model} is not found for API version v1beta, or is not supported for {method}. Call ListModels to see the list of available models and their supported methods."),
    )
}
