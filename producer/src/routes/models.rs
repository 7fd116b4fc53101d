use axum::{extract::State, Json};
use electrons_domain::job::Modality;
use serde_json::{json, Value};

use super::shapes::{Data, ModelListing};
use crate::error::ApiErrorBody;
use crate::{auth::Caller, state::AppState};

#[utoipa::path(
    get,
    path = "/v1/models",
    operation_id = "listModels",
    tag = "models",
    summary = "List the models",
    description = "The models jobs may name, with their modality, provider, pricing and status.",
    responses(
        (status = 200, description = "The models", body = Data<ModelListing>),
        (status = 403, description = "The key lacks the scope this needs (`insufficient_scope`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn list(State(state): State<AppState>, _caller: Caller) -> Json<Value> {
    let catalog = state.catalog.get().await;
    let mut models: Vec<_> = catalog.models.values().collect();
    models.sort_by(|a, b| a.id.cmp(&b.id));
    let data: Vec<Value> = models
        .into_iter()
        .map(|m| {
            let mut model = json!({
                "id": m.id,
                "modality": m.modality,
                "provider": m.provider,
                "api": m.api,
                "pricing": m.pricing,
                "status": m.status,
            });
            // What `input` may hold, for clients that build a form from it.
            if let Some(rules) = catalog.input_rules(m) {
                model["input_fields"] = json!(rules.fields());
            }
            if let Some(at) = m.deprecated_at {
                model["deprecated_at"] = json!(at);
            }
            // Token limits only mean something for text.
            if m.modality == Modality::Text {
                model["default_max_tokens"] = json!(m.default_max_tokens);
                model["max_output_tokens"] = json!(m.max_output_tokens);
            }
            model
        })
        .collect();
    Json(json!({ "data": data }))
}
