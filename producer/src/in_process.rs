//! DE's own API, called in process: the console asks the router what the
//! signed-in credential may see and do, and the compatible APIs (`openai`)
//! submit their jobs through it, so both honour each key's project, scopes,
//! role, limits and budget exactly as the API does, and can pass on the API's
//! own error when it refuses.

use axum::{
    body::Body,
    http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode},
    response::{IntoResponse, Response},
    Router,
};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;
use tower::ServiceExt;

/// Whose credential a call carries as its bearer.
pub trait Bearer {
    fn bearer(&self) -> &str;
}

impl Bearer for str {
    fn bearer(&self) -> &str {
        self
    }
}

/// The bearer an incoming request carries, to pass on (empty without one: the native API refuses it).
pub fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .unwrap_or_default()
}

/// What `encode` leaves as it is: RFC 3986's unreserved characters, safe in
/// a path segment, a query value and a cookie alike.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `text` percent-encoded, for a path segment or a query value of a call (or
/// a link, or a cookie value).
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, ESCAPED).to_string()
}

/// A compatible surface's answer with any refusal in the native API's shape
/// (`{"error": {code, message, field}}`, from an extractor, the native API or
/// a handler) redrawn by `reshape`, the headers kept; `reshape` answers
/// `None` for a body that is already the surface's own.
pub async fn reshape_refusal(
    response: Response,
    reshape: impl FnOnce(StatusCode, &Value) -> Option<Response>,
) -> Response {
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return (parts, Body::empty()).into_response();
    };
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    // Not JSON, or not DE's shape: as it is.
    let redrawn = match value["error"].is_object() {
        true => reshape(status, &value),
        false => None,
    };
    let Some(mut reshaped) = redrawn else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    for (name, value) in &parts.headers {
        if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
            reshaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    reshaped
}

/// The API router with its state, for the console's calls.
#[derive(Clone)]
pub struct Api(pub Router);

/// What the API answered.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn ok(&self) -> bool {
        self.status.is_success()
    }

    /// The API's message for a refusal, for a person to read.
    pub fn message(&self) -> String {
        let error = &self.body["error"];
        match (error["message"].as_str(), error["field"].as_str()) {
            (Some(message), Some(field)) => format!("{message} (field: {field})"),
            (Some(message), None) => message.to_owned(),
            _ => format!("the API answered {}", self.status),
        }
    }

    /// The API's stable error code, if it refused.
    pub fn code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }
}

impl Api {
    pub async fn get(&self, who: &(impl Bearer + ?Sized), uri: &str) -> Answer {
        self.call(who, Method::GET, uri, &[], None).await
    }

    pub async fn send(&self, who: &(impl Bearer + ?Sized), method: Method, uri: &str, body: Option<&Value>) -> Answer {
        self.call(who, method, uri, &[], body).await
    }

    /// A call with headers of its own (`Prefer`, `Idempotency-Key`…).
    pub async fn call(
        &self,
        who: &(impl Bearer + ?Sized),
        method: Method,
        uri: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Option<&Value>,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", who.bearer()));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let body = match body {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        let request = match request.body(body) {
            Ok(request) => request,
            Err(error) => return failure(format!("could not build the request: {error}")),
        };
        let response = match self.0.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = match axum::body::to_bytes(response.into_body(), 64 << 20).await {
            Ok(bytes) => bytes,
            Err(error) => return failure(format!("could not read the answer: {error}")),
        };
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Answer { status, headers, body }
    }
}

fn failure(message: String) -> Answer {
    Answer {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        headers: HeaderMap::new(),
        body: serde_json::json!({ "error": { "code": "console_error", "message": message } }),
    }
}
