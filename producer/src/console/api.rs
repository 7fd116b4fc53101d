//! The console speaks to DE through DE's own API, in process: every page asks
//! the router what the signed-in credential may see and do, so the console
//! honours each key's project, scopes and role exactly as the API does, and
//! shows the API's own error when it refuses.

use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
    Router,
};
use serde_json::Value;
use tower::ServiceExt;

use super::session::Session;

/// The API router with its state, for the console's calls.
#[derive(Clone)]
pub struct Api(pub Router);

/// What the API answered.
pub struct Answer {
    pub status: StatusCode,
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
    pub async fn get(&self, session: &Session, uri: &str) -> Answer {
        self.call(session, Method::GET, uri, None).await
    }

    pub async fn send(&self, session: &Session, method: Method, uri: &str, body: Option<&Value>) -> Answer {
        self.call(session, method, uri, body).await
    }

    async fn call(&self, session: &Session, method: Method, uri: &str, body: Option<&Value>) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", session.credential));
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
        let bytes = match axum::body::to_bytes(response.into_body(), 64 << 20).await {
            Ok(bytes) => bytes,
            Err(error) => return failure(format!("could not read the answer: {error}")),
        };
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Answer { status, body }
    }
}

fn failure(message: String) -> Answer {
    Answer {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        body: serde_json::json!({ "error": { "code": "console_error", "message": message } }),
    }
}
