//! `POST /v1/admin/models/{id}/dry-run` (the operator): the exact request a
//! model of an `http` provider would send for an input — method, URL,
//! headers and JSON body, filled as the worker fills them, prompt template
//! applied — and, for an `async` mapping, the status request, with the
//! provider's key masked to its last four characters. Nothing is sent and
//! nothing is saved. `http_mapping` in the body tries a mapping before it is
//! saved, checked as a save would check it.

use axum::{
    extract::{Path, State},
    Json,
};
use electrons_domain::{
    catalog::ProviderKind,
    http_mapping::{HttpMapping, RenderedRequest, Values},
    secret::Secret,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::json_body::{self, JsonBody};
use super::shapes::DryRunView;
use crate::{
    auth::Operator,
    error::{ApiError, ApiErrorBody},
    state::AppState,
};

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = DryRunRequest)]
#[serde(deny_unknown_fields)]
struct DryRun {
    /// A job's input for the model.
    #[schema(value_type = Object)]
    input: Value,
    /// A mapping to try instead of the saved one.
    #[serde(default)]
    http_mapping: Option<HttpMapping>,
}

/// What stands for the operation id in the status request shown.
const OPERATION_ID: &str = "OPERATION_ID";

#[utoipa::path(
    post,
    path = "/v1/admin/models/{id}/dry-run",
    operation_id = "dryRunModel",
    tag = "admin-models",
    summary = "Show an http model's request",
    description = "The exact request a model of an `http` provider would send for an input (and its status request, for an `async` mapping), the key masked. Nothing is sent or saved; `http_mapping` tries a mapping before it is saved.",
    params(
        ("id" = String, Path, description = "The model's id")
    ),
    request_body = DryRun,
    responses(
        (status = 200, description = "The request", body = DryRunView),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody),
        (status = 404, description = "No such model or provider", body = ApiErrorBody),
        (status = 422, description = "Not a model of an http provider, or an input or mapping that does not fit (`invalid_field`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn dry_run(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let request: DryRun = json_body::parse(&body)?;
    let catalog = state.catalog.get().await;
    let mut model = catalog
        .models
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("model"))?;
    let provider = catalog
        .providers
        .get(&model.provider)
        .ok_or_else(|| ApiError::not_found("provider"))?;
    if provider.kind != ProviderKind::Http {
        return Err(ApiError::invalid(
            "model",
            format!("`{id}` is not a model of an http provider: its request is DE's own adapter's"),
        ));
    }
    if let Some(mapping) = request.http_mapping {
        mapping.validate(model.modality)?;
        model.http_mapping = Some(mapping);
    }
    let Some(mapping) = model.http_mapping.as_ref() else {
        return Err(ApiError::invalid("http_mapping", "the model has no http_mapping"));
    };
    let rules = catalog
        .input_rules(&model)
        .ok_or_else(|| ApiError::invalid("model", "DE does not know this model's input rules"))?;
    let input = model.parse_input(&rules, &request.input)?;
    let (input, _) = model.prepared(input);
    let masked = mask(provider.api_key.as_ref());
    let values = Values::for_job(&model, &input, &mapping.defaults).with("api_key", masked.as_str());
    let url = |rendered: &RenderedRequest| format!("{}{}", provider.base_url, rendered.path);
    let shown = |rendered: RenderedRequest| {
        json!({
            "method": rendered.method,
            "url": url(&rendered),
            "headers": rendered.headers.into_iter().map(|(name, value)| (name, Value::String(value))).collect::<Map<_, _>>(),
            "body": rendered.body,
        })
    };
    let first = mapping
        .request
        .render(&values)
        .map_err(|missing| ApiError::invalid("input", missing.to_string()))?;
    let poll = match &mapping.operation {
        Some(operation) => Some(
            operation
                .poll
                .render(&values.clone().with("operation_id", OPERATION_ID))
                .map_err(|missing| ApiError::invalid("input", missing.to_string()))?,
        ),
        None => None,
    };
    Ok(Json(json!({
        "model": model.id,
        "provider": provider.id,
        "request": shown(first),
        "poll": poll.map(shown),
        "key": provider.key_source,
    })))
}

/// The key as a dry run shows it: its last four characters, as the admin API
/// shows them, when it has at least twice as many (a short key not at all).
fn mask(key: Option<&Secret>) -> String {
    let Some(key) = key else {
        return "(no key configured)".into();
    };
    let chars: Vec<char> = key.expose().chars().collect();
    if chars.len() < 8 {
        return "****".into();
    }
    let last4: String = chars[chars.len() - 4..].iter().collect();
    format!("****{last4}")
}
