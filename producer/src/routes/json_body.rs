//! JSON request bodies, read in one place. `JsonBody` is the only way a route
//! takes a body: it refuses one not labelled `application/json` with a 415,
//! and maps the body's own failures (too large, cut off) to the API's errors. `parse` then types it: a body that does not fit the type
//! is a 400 `invalid_body` naming the field serde stopped at.
//!
//! Only `application/json` is accepted (parameters such as `charset=utf-8` are
//! ignored: JSON is UTF-8 by definition, RFC 8259), not every `application/*+json`.
//! The clients DE is written for (OpenAI's SDKs, curl examples, `reqwest`'s
//! `.json()`) all send `application/json`, and a suffixed type usually means
//! something else than "this document": `merge-patch+json` and `json-patch+json`
//! are edits we would apply as replacements. Admitting more types later breaks
//! no client; refusing them later would.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{header::CONTENT_TYPE, HeaderValue, StatusCode},
};
use serde::de::DeserializeOwned;

use crate::{error::ApiError, state::AppState};

/// The raw bytes of a body that said it is JSON. An empty body needs no JSON
/// `Content-Type` (a POST without a body is not refused here, whatever a client
/// labels it — `curl -d ''` says form-urlencoded; the route decides whether it
/// wants one), any other does.
pub struct JsonBody(pub Bytes);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let labelled = request.headers().get(CONTENT_TYPE).is_some_and(is_json);
        let limit = state.settings.producer.body_limit_bytes;
        let body = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("the body exceeds {limit} bytes"),
                )
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", rejection.body_text())
            }
        })?;
        if !labelled && !body.is_empty() {
            return Err(unsupported_media_type());
        }
        Ok(Self(body))
    }
}

/// `application/json`, in any case, with or without parameters.
fn is_json(value: &HeaderValue) -> bool {
    value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

fn unsupported_media_type() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "the body must be JSON, sent with `Content-Type: application/json`",
    )
    .with_field("Content-Type")
}

pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(body)).map_err(|e| {
        let field = e.path().to_string();
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", e.inner().to_string()).with_field(field)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_json_with_or_without_parameters_is_json() {
        for value in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            " application/json ;x=y",
        ] {
            assert!(is_json(&HeaderValue::from_static(value)), "{value}");
        }
    }

    #[test]
    fn other_types_are_not() {
        for value in [
            "text/plain",
            "application/merge-patch+json",
            "application/jsonp",
            "",
            "json",
        ] {
            assert!(!is_json(&HeaderValue::from_static(value)), "{value}");
        }
    }
}
