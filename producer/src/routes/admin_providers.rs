//! `/v1/admin/providers[/{id}]` (the operator): add, change or remove a
//! provider — any OpenAI-compatible endpoint is an `openai_chat` provider with
//! its base URL and key — without a restart. A key sent here is sealed at rest
//! under `DE_SECRET_KEYS` and never shown again: responses and the audit log
//! carry its last four characters only. This producer reloads its catalog at
//! once; every other process when `de_catalog` tells it. A new provider gets
//! a conservative request limit (60 a minute) to raise through
//! `/v1/admin/rate-limits`, since nothing is called without a grant.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use electrons_domain::{
    catalog::{provider_key_binding, ProviderKind},
    db::providers::{self, KeyChange, ProviderRecord, ProviderWrite},
    keyring,
    secret::Secret,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::json_body::{self, JsonBody};
use super::shapes::{Data, ProviderView};
use crate::{
    auth::Operator,
    error::{ApiError, ApiErrorBody},
    state::AppState,
};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ProviderRequest {
    /// `openai_chat`, `anthropic_messages`, `ideogram`, `gemini`, `elevenlabs`, `pexels`, `shotstack` or `http`.
    kind: String,
    base_url: String,
    /// Default 120000.
    #[serde(default = "default_timeout_ms")]
    timeout_ms: i32,
    /// Absent: keep the key; `null`: remove it; a string: the new key.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    api_key: Option<Option<String>>,
}

fn default_timeout_ms() -> i32 {
    120_000
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

#[utoipa::path(
    get,
    path = "/v1/admin/providers",
    operation_id = "listProviders",
    tag = "admin-providers",
    summary = "List providers",
    responses(
        (status = 200, description = "The providers", body = Data<ProviderView>),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn list(State(state): State<AppState>, _operator: Operator) -> Result<Json<Value>, ApiError> {
    let records = providers::list(&state.pool).await?;
    let mut data = Vec::with_capacity(records.len());
    for record in records {
        data.push(view(&state, record).await);
    }
    Ok(Json(json!({ "data": data })))
}

#[utoipa::path(
    get,
    path = "/v1/admin/providers/{id}",
    operation_id = "getProvider",
    tag = "admin-providers",
    summary = "Read a provider",
    params(
        ("id" = String, Path, description = "The provider's id")
    ),
    responses(
        (status = 200, description = "The provider", body = ProviderView),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody),
        (status = 404, description = "No such provider", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let record = providers::get(&state.pool, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("provider"))?;
    Ok(Json(view(&state, record).await))
}

#[utoipa::path(
    put,
    path = "/v1/admin/providers/{id}",
    operation_id = "putProvider",
    tag = "admin-providers",
    summary = "Add or change a provider",
    description = "Without a restart. A key sent here is sealed at rest and never shown again (its last four characters only); a new provider gets a limit of 60 requests a minute.",
    params(
        ("id" = String, Path, description = "The provider's id")
    ),
    request_body = ProviderRequest,
    responses(
        (status = 200, description = "The provider", body = ProviderView),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody),
        (status = 422, description = "A bad id, kind, URL, timeout or key, or `DE_SECRET_KEYS` unset for a key (`invalid_field`, `secret_keys_unset`)", body = ApiErrorBody)
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
    let request: ProviderRequest = json_body::parse(&body)?;
    if ProviderKind::parse(&request.kind).is_none() {
        return Err(ApiError::invalid(
            "kind",
            format!("one of {}", ProviderKind::NAMES.join(", ")),
        ));
    }
    let base_url = url::Url::parse(&request.base_url)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .ok_or_else(|| ApiError::invalid("base_url", "an http or https URL with a host"))?;
    if request.timeout_ms <= 0 {
        return Err(ApiError::invalid("timeout_ms", "must be greater than 0"));
    }
    let key = match request.api_key {
        None => KeyChange::Keep,
        Some(None) => KeyChange::Clear,
        Some(Some(key)) if key.trim().is_empty() => {
            return Err(ApiError::invalid(
                "api_key",
                "must not be empty; send null to remove the key",
            ))
        }
        Some(Some(key)) => {
            let Some(keyring) = &state.settings.keyring else {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "secret_keys_unset",
                    "provider keys are sealed at rest under DE_SECRET_KEYS, which this deployment does not set; set it, or give the key as DE_PROVIDER_<ID>_API_KEY",
                )
                .with_field("api_key"));
            };
            let key = Secret::new(key);
            KeyChange::Set {
                sealed: keyring.seal(&key, &provider_key_binding(&id)),
                last4: keyring::last4(&key),
            }
        }
    };
    let base_url = base_url.as_str().trim_end_matches('/').to_string();
    let write = ProviderWrite {
        kind: &request.kind,
        base_url: &base_url,
        timeout_ms: request.timeout_ms,
        key,
    };
    let mut tx = state.pool.begin().await?;
    let before = providers::get(&mut *tx, &id).await?;
    providers::put(&mut *tx, &id, &write).await?;
    providers::ensure_default_limit(&mut *tx, &id).await?;
    let after = providers::get(&mut *tx, &id).await?;
    super::operator_audit::record(&mut tx, "provider.put", &id, before, after.clone()).await?;
    tx.commit().await?;
    state.catalog.reload(&state.pool).await?;
    let after = after.ok_or_else(|| ApiError::internal("a provider just written is gone"))?;
    Ok(Json(view(&state, after).await))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/providers/{id}",
    operation_id = "deleteProvider",
    tag = "admin-providers",
    summary = "Remove a provider",
    params(
        ("id" = String, Path, description = "The provider's id")
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The admin API is off: `DE_ADMIN_TOKEN` is unset (`admin_disabled`)", body = ApiErrorBody),
        (status = 404, description = "No such provider", body = ApiErrorBody),
        (status = 409, description = "Models still use it (`provider_in_use`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut tx = state.pool.begin().await?;
    let before = providers::get(&mut *tx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("provider"))?;
    match providers::delete(&mut *tx, &id).await {
        Ok(_) => {}
        Err(error) if is_in_use(&error) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "provider_in_use",
                "models still use this provider; remove or move them first",
            ))
        }
        Err(error) => return Err(error.into()),
    }
    super::operator_audit::record(&mut tx, "provider.delete", &id, Some(before), None).await?;
    tx.commit().await?;
    state.catalog.reload(&state.pool).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A foreign key refused the delete: other rows still point at this one.
pub(super) fn is_in_use(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "23503")
}

/// The provider as stored, and where the key this deployment calls it with
/// comes from (an environment variable wins over the database).
async fn view(state: &AppState, record: ProviderRecord) -> Value {
    let catalog = state.catalog.get().await;
    let in_use = catalog.providers.get(&record.id).map(|p| json!(p.key_source));
    json!({
        "id": record.id,
        "kind": record.kind,
        "base_url": record.base_url,
        "timeout_ms": record.timeout_ms,
        "api_key": { "set": record.api_key_last4.is_some(), "last4": record.api_key_last4 },
        "key_in_use": in_use,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    })
}
