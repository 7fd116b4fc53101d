use axum::{extract::State, Json};
use serde_json::{json, Value};

use crate::{auth::Caller, state::AppState};

pub async fn list(State(state): State<AppState>, _caller: Caller) -> Json<Value> {
    let catalog = state.catalog.get().await;
    let mut models: Vec<_> = catalog.models.values().collect();
    models.sort_by(|a, b| a.id.cmp(&b.id));
    let data: Vec<Value> = models
        .into_iter()
        .map(|m| {
            json!({
                "id": m.id,
                "modality": m.modality,
                "provider": m.provider,
                "default_max_tokens": m.default_max_tokens,
                "max_output_tokens": m.max_output_tokens,
                "pricing": { "input_usd_per_mtok": m.input_usd_per_mtok, "output_usd_per_mtok": m.output_usd_per_mtok },
            })
        })
        .collect();
    Json(json!({ "data": data }))
}
