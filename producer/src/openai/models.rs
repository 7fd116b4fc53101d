//! `GET /models` and `GET /models/{id}`: DE's models as OpenAI lists them
//! (`{"object": "list", "data": [{id, object, created, owned_by}]}`), read
//! from the native `GET /v1/models` with the caller's key. Every modality is
//! listed, as OpenAI lists its image and speech models too; `owned_by` is the
//! provider. DE keeps no creation time for a model, so `created` is 0.

use axum::{
    extract::Path,
    http::HeaderMap,
    response::{IntoResponse, Response},
    Extension, Json,
};
use serde_json::{json, Value};

use super::error;
use crate::in_process::{bearer, Api};

fn model(entry: &Value) -> Value {
    json!({
        "id": entry["id"],
        "object": "model",
        "created": 0,
        "owned_by": entry["provider"],
    })
}

async fn models(api: &Api, headers: &HeaderMap) -> Result<Vec<Value>, Response> {
    let answer = api.get(bearer(headers), "/v1/models").await;
    if !answer.ok() {
        return Err(error::from_native(answer.status, &answer.body).into_response());
    }
    Ok(answer.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(model)
        .collect())
}

pub async fn list(Extension(api): Extension<Api>, headers: HeaderMap) -> Response {
    match models(&api, &headers).await {
        Ok(data) => Json(json!({ "object": "list", "data": data })).into_response(),
        Err(refused) => refused,
    }
}

pub async fn get(Extension(api): Extension<Api>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    match models(&api, &headers).await {
        Ok(data) => match data.into_iter().find(|m| m["id"] == id.as_str()) {
            Some(found) => Json(found).into_response(),
            None => error::OpenAiError {
                status: axum::http::StatusCode::NOT_FOUND,
                code: "model_not_found".into(),
                message: format!("The model `{id}` does not exist; GET /models lists them"),
                param: Some("model".into()),
                final_answer: false,
            }
            .into_response(),
        },
        Err(refused) => refused,
    }
}
