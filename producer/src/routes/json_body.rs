//! Typed JSON bodies of the configuration routes: a body that does not fit the
//! type is a 400 `invalid_body` naming the field serde stopped at.

use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(body)).map_err(|e| {
        let field = e.path().to_string();
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", e.inner().to_string()).with_field(field)
    })
}
