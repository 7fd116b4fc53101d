//! `/v1/admin/models[/{id}]` (the operator): add, change or remove a model —
//! its provider and provider model name, token limits, pricing, status, the
//! prompt template of a text model — with
//! no code change and no restart. Checked when saved: the provider must exist
//! and speak the modality, and DE must know the provider model's input rules;
//! a bad field is a 422 naming it. `status: disabled` takes a model out of the
//! catalog while keeping its row (and its jobs' history). A model of an `http`
//! provider carries its `http_mapping`, checked as a whole when saved
//! (`electrons_domain::http_mapping`); `…/dry-run` shows what it would send.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use electrons_domain::{
    catalog::{Api, Catalog, ModelConfig, ProviderKind},
    db::models::{self, ModelWrite},
    input::{InputRules, JobInput},
    job::Modality,
    prompt_template::PromptTemplate,
};
use serde_json::{json, Value};

use super::json_body::{self, JsonBody};
use super::shapes::Data;
use crate::{
    auth::Operator,
    error::{ApiError, ApiErrorBody},
    state::AppState,
};
use electrons_domain::db::models::ModelRecord;

#[utoipa::path(
    get,
    path = "/v1/admin/models",
    operation_id = "listModelConfigs",
    tag = "admin-models",
    summary = "List model configurations",
    description = "Disabled models included.",
    responses(
        (status = 200, description = "The models", body = Data<ModelRecord>),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn list(State(state): State<AppState>, _operator: Operator) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "data": models::list(&state.pool).await? })))
}

#[utoipa::path(
    get,
    path = "/v1/admin/models/{id}",
    operation_id = "getModelConfig",
    tag = "admin-models",
    summary = "Read a model configuration",
    params(
        ("id" = String, Path, description = "The model's id")
    ),
    responses(
        (status = 200, description = "The model", body = ModelRecord),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody),
        (status = 404, description = "No such model", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let model = models::get(&state.pool, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("model"))?;
    Ok(Json(json!(model)))
}

#[utoipa::path(
    put,
    path = "/v1/admin/models/{id}",
    operation_id = "putModelConfig",
    tag = "admin-models",
    summary = "Add or change a model",
    description = "Checked when saved: the provider exists and speaks the modality, DE knows the provider model, limits, prices, the prompt template and the `http_mapping` make sense; a bad field is a 422 naming it.",
    params(
        ("id" = String, Path, description = "The model's id")
    ),
    request_body = ModelWrite,
    responses(
        (status = 200, description = "The model", body = ModelRecord),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody),
        (status = 422, description = "A bad field, named (`invalid_field`, `missing_field`, …)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn put(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    super::admin_ids::check(&id)?;
    let write: ModelWrite = json_body::parse(&body)?;
    validate(&state, &id, &write).await?;
    let mut tx = state.pool.begin().await?;
    let before = models::get(&mut *tx, &id).await?;
    models::put(&mut *tx, &id, &write).await?;
    let after = models::get(&mut *tx, &id).await?;
    super::operator_audit::record(&mut tx, "model.put", &id, before, after.clone()).await?;
    tx.commit().await?;
    state.catalog.reload(&state.pool).await?;
    Ok(Json(json!(after)))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/models/{id}",
    operation_id = "deleteModelConfig",
    tag = "admin-models",
    summary = "Remove a model",
    params(
        ("id" = String, Path, description = "The model's id")
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody),
        (status = 404, description = "No such model", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut tx = state.pool.begin().await?;
    let before = models::get(&mut *tx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("model"))?;
    models::delete(&mut *tx, &id).await?;
    super::operator_audit::record(&mut tx, "model.delete", &id, Some(before), None).await?;
    tx.commit().await?;
    state.catalog.reload(&state.pool).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The provider exists and speaks the modality, DE can call the provider
/// model, and the limits and prices make sense.
async fn validate(state: &AppState, id: &str, write: &ModelWrite) -> Result<(), ApiError> {
    let catalog = state.catalog.get().await;
    let provider = catalog
        .providers
        .get(&write.provider)
        .filter(|provider| provider.credential_of.is_none())
        .ok_or_else(|| ApiError::invalid("provider", format!("no provider `{}`", write.provider)))?;
    if write.provider_model.trim().is_empty() {
        return Err(ApiError::invalid("provider_model", "must not be empty"));
    }
    let api = Api::of(provider.kind, write.modality, &write.provider_model).ok_or_else(|| {
        ApiError::invalid(
            "modality",
            format!("provider `{}` serves no {} API", write.provider, write.modality),
        )
    })?;
    if write.default_max_tokens <= 0 || write.max_output_tokens <= 0 {
        return Err(ApiError::invalid(
            "default_max_tokens",
            "token limits must be greater than 0",
        ));
    }
    if write.default_max_tokens > write.max_output_tokens {
        return Err(ApiError::invalid(
            "default_max_tokens",
            "must not exceed max_output_tokens",
        ));
    }
    write
        .pricing
        .validate()
        .map_err(|error| ApiError::invalid(&error.field, error.message))?;
    let model = ModelConfig {
        id: id.to_string(),
        modality: write.modality,
        provider: write.provider.clone(),
        provider_model: write.provider_model.clone(),
        api,
        default_max_tokens: write.default_max_tokens as u32,
        max_output_tokens: write.max_output_tokens as u32,
        pricing: write.pricing.clone(),
        status: write.status,
        deprecated_at: None,
        retry_unusable_answers: write.retry_unusable_answers,
        regenerate_unavailable_outputs: write.regenerate_unavailable_outputs,
        prompt_template: None,
        http_mapping: write.http_mapping.clone(),
        fallbacks: write.fallbacks.clone(),
    };
    validate_mapping(&model, provider.kind)?;
    validate_fallbacks(id, write, &catalog)?;
    let Some(rules) = catalog.input_rules(&model) else {
        return Err(ApiError::invalid(
            "provider_model",
            format!(
                "DE does not know the input rules of `{}` on {}",
                write.provider_model, write.provider
            ),
        ));
    };
    if let Some(template) = &write.prompt_template {
        validate_template(template, write.modality, &rules)?;
        if let Some(mapping) = &model.http_mapping {
            mapping
                .check_input_fields(id, write.modality, &template.input_fields())
                .map_err(|mut error| {
                    error.field = error.field.replacen("input.", "prompt_template.", 1);
                    error
                })?;
        }
    }
    Ok(())
}

/// Fallbacks are other models of the catalog, of the same modality, each once.
fn validate_fallbacks(id: &str, write: &ModelWrite, catalog: &Catalog) -> Result<(), ApiError> {
    for (i, fallback) in write.fallbacks.iter().enumerate() {
        let field = format!("fallbacks[{i}]");
        let Some(model) = catalog.models.get(fallback) else {
            return Err(ApiError::invalid(&field, format!("there is no model {fallback:?}")));
        };
        if fallback == id || write.fallbacks[..i].contains(fallback) {
            return Err(ApiError::invalid(
                &field,
                format!("{fallback:?} is already tried before"),
            ));
        }
        if model.modality != write.modality {
            return Err(ApiError::invalid(
                &field,
                format!("{fallback:?} is a {} model, not {}", model.modality, write.modality),
            ));
        }
    }
    Ok(())
}

/// A model of an `http` provider has a mapping that passes its checks; no
/// other model has one.
fn validate_mapping(model: &ModelConfig, kind: ProviderKind) -> Result<(), ApiError> {
    match (&model.http_mapping, kind) {
        (Some(mapping), ProviderKind::Http) => Ok(mapping.validate(model.modality)?),
        (None, ProviderKind::Http) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_field",
            "a model of an http provider needs an http_mapping: how to call it and where its answer holds the output",
        )
        .with_field("http_mapping")),
        (Some(_), _) => Err(ApiError::invalid(
            "http_mapping",
            format!(
                "only models of http providers have one; `{}` is not one",
                model.provider
            ),
        )),
        (None, _) => Ok(()),
    }
}

/// A prompt template is a text model's, its placeholders are known, and its
/// system prompt and settings are what a job of the model could send.
fn validate_template(template: &PromptTemplate, modality: Modality, rules: &InputRules) -> Result<(), ApiError> {
    if modality != Modality::Text {
        return Err(ApiError::invalid(
            "prompt_template",
            "only text models have a prompt template",
        ));
    }
    template.validate()?;
    JobInput::parse(rules, &template.input_fields()).map_err(|mut error| {
        error.field = error.field.replacen("input.", "prompt_template.", 1);
        error
    })?;
    Ok(())
}
