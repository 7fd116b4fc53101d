//! `/v1/admin/instances/{id}/credentials[/{provider}]` (the operator, or the
//! instance's admins; its viewers list them): an
//! instance's own key for a provider (bring your own key). Its projects' calls
//! to that provider use it, and fall back to the deployment's key when there is
//! none. The key is sealed at rest under `DE_SECRET_KEYS`, bound to its row,
//! and never shown again (its last four characters only, in responses and the
//! audit log). Each instance key has its own rate limits (`<limit>@<instance>`,
//! copied from the provider's when the key is first set, tuned through
//! `/v1/admin/rate-limits`): two instances with their own keys never share a
//! bucket.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use electrons_domain::{
    auth::Role,
    catalog::provider_key_binding,
    db::{
        providers::{self, credential_id, Credential},
        tenants,
    },
    keyring,
    secret::Secret,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::json_body::{self, JsonBody};
use super::shapes::{CredentialView, Data};
use crate::{
    auth::Actor,
    error::{ApiError, ApiErrorBody},
    state::AppState,
};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CredentialRequest {
    api_key: String,
}

#[utoipa::path(
    get,
    path = "/v1/admin/instances/{id}/credentials",
    operation_id = "listCredentials",
    tag = "admin-tenants",
    summary = "List an instance's provider keys",
    params(
        ("id" = String, Path, description = "The instance's id")
    ),
    responses(
        (status = 200, description = "The keys (last four characters only)", body = Data<CredentialView>),
        (status = 404, description = "No such instance, or one the user has no role in", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    actor: Actor,
    Path(instance): Path<String>,
) -> Result<Json<Value>, ApiError> {
    actor.require(&state.pool, &instance, Role::Viewer).await?;
    if tenants::instance(&state.pool, &instance).await?.is_none() {
        return Err(ApiError::not_found("instance"));
    }
    let data: Vec<Value> = providers::credentials(&state.pool, &instance)
        .await?
        .into_iter()
        .map(view)
        .collect();
    Ok(Json(json!({ "data": data })))
}

#[utoipa::path(
    put,
    path = "/v1/admin/instances/{id}/credentials/{provider}",
    operation_id = "putCredential",
    tag = "admin-tenants",
    summary = "Set an instance's own key for a provider",
    description = "Its projects' calls to the provider use it, under rate limits of its own. Sealed at rest, never shown again (the operator, or the instance's admins).",
    params(
        ("id" = String, Path, description = "The instance's id"),
        ("provider" = String, Path, description = "The provider's id")
    ),
    request_body = CredentialRequest,
    responses(
        (status = 201, description = "Set", body = CredentialView),
        (status = 200, description = "Replaced", body = CredentialView),
        (status = 403, description = "The user's role in the instance is too low (`insufficient_role`)", body = ApiErrorBody),
        (status = 404, description = "No such instance or provider", body = ApiErrorBody),
        (status = 422, description = "An empty key, or `DE_SECRET_KEYS` unset (`invalid_field`, `secret_keys_unset`)", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn put(
    State(state): State<AppState>,
    actor: Actor,
    Path((instance, provider)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    actor.require(&state.pool, &instance, Role::Admin).await?;
    let request: CredentialRequest = json_body::parse(&body)?;
    if request.api_key.trim().is_empty() {
        return Err(ApiError::invalid("api_key", "must not be empty"));
    }
    let Some(keyring) = &state.settings.keyring else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "secret_keys_unset",
            "instance keys are sealed at rest under DE_SECRET_KEYS, which this deployment does not set",
        )
        .with_field("api_key"));
    };
    let mut tx = state.pool.begin().await?;
    if tenants::instance(&mut *tx, &instance).await?.is_none() {
        return Err(ApiError::not_found("instance"));
    }
    if providers::get(&mut *tx, &provider).await?.is_none() {
        return Err(ApiError::not_found("provider"));
    }
    let key = Secret::new(request.api_key);
    let sealed = keyring.seal(&key, &provider_key_binding(&credential_id(&provider, &instance)));
    let before = providers::credential(&mut *tx, &provider, &instance).await?;
    let created = providers::put_credential(&mut tx, &provider, &instance, &sealed, &keyring::last4(&key)).await?;
    let after = providers::credential(&mut *tx, &provider, &instance)
        .await?
        .ok_or_else(|| ApiError::internal("a credential just written is gone"))?;
    super::operator_audit::record_by(
        &mut tx,
        &actor.name(),
        "credential.put",
        &after.id,
        before,
        Some(after.clone()),
    )
    .await?;
    tx.commit().await?;
    state.catalog.reload(&state.pool).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(view(after))))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/instances/{id}/credentials/{provider}",
    operation_id = "deleteCredential",
    tag = "admin-tenants",
    summary = "Remove an instance's key for a provider",
    description = "Its projects fall back to the deployment's key.",
    params(
        ("id" = String, Path, description = "The instance's id"),
        ("provider" = String, Path, description = "The provider's id")
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The user's role in the instance is too low (`insufficient_role`)", body = ApiErrorBody),
        (status = 404, description = "No such key", body = ApiErrorBody)
    ),
    security(("bearerAuth" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    actor: Actor,
    Path((instance, provider)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    actor.require(&state.pool, &instance, Role::Admin).await?;
    let mut tx = state.pool.begin().await?;
    let before = providers::credential(&mut *tx, &provider, &instance)
        .await?
        .ok_or_else(|| ApiError::not_found("credential"))?;
    providers::delete_credential(&mut *tx, &provider, &instance).await?;
    let target = before.id.clone();
    super::operator_audit::record_by(&mut tx, &actor.name(), "credential.delete", &target, Some(before), None).await?;
    tx.commit().await?;
    state.catalog.reload(&state.pool).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn view(credential: Credential) -> Value {
    json!({
        "provider": credential.base_provider_id,
        "instance": credential.instance_id,
        "credential_id": credential.id,
        "api_key": { "set": credential.api_key_last4.is_some(), "last4": credential.api_key_last4 },
        "created_at": credential.created_at,
        "updated_at": credential.updated_at,
    })
}
