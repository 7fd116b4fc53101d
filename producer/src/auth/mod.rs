//! `Authorization: Bearer <key>` → the project the request acts for, if the
//! key may do what the route does (`Scope::needed_for`). Keys are looked up by
//! hash through `key_cache`, so authenticating costs no query; a revoked key is
//! refused within moments. The fleet-wide admin API (rate limits) takes the
//! operator's token (`DE_ADMIN_TOKEN`); the project-level admin API (keys)
//! takes that token or a key with the `admin` scope; the instance-level admin
//! API (instances, projects, members, provider keys) takes that token or a
//! user's token, by the user's role in the instance (`actor`).

mod actor;
mod key_cache;

pub use actor::Actor;
use axum::{
    extract::FromRequestParts,
    http::{request::Parts, StatusCode},
};
use electrons_domain::auth::{hash_key, key_format, Scope};
pub use key_cache::KeyCache;
use uuid::Uuid;

use crate::{error::ApiError, state::AppState};

/// The authenticated caller.
pub struct Caller {
    pub project_id: Uuid,
    /// The key it called with.
    pub key_id: Uuid,
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let key = bearer(parts).ok_or_else(ApiError::unauthorized)?;
        // A key in the generated shape whose checksum fails was mistyped or
        // made up: no need to ask the database.
        if key_format::looks_generated(key) && !key_format::is_generated(key) {
            return Err(ApiError::unauthorized());
        }
        let active = state
            .keys
            .lookup(&hash_key(key))
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        if active.expired(chrono::Utc::now()) {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "key_expired",
                "this API key has expired; create a new one",
            ));
        }
        let needed = Scope::needed_for(parts.method.as_str(), parts.uri.path());
        if !active.scopes.allows(needed) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("this API key lacks the `{}` scope this request needs", needed.as_str()),
            ));
        }
        Ok(Caller {
            project_id: active.project_id,
            key_id: active.id,
        })
    }
}

/// Whether the request carries the operator's token.
fn is_operator(parts: &Parts, state: &AppState) -> Result<bool, ApiError> {
    let Some(token) = &state.settings.producer.admin_token else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "admin_disabled",
            "the admin API is off; set DE_ADMIN_TOKEN to enable it",
        ));
    };
    // Compared as hashes, so the time taken says nothing about the token.
    let given = bearer(parts).map(hash_key);
    Ok(given.as_deref() == Some(hash_key(token.expose()).as_str()))
}

/// The operator, for the fleet-wide admin API.
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match is_operator(parts, state)? {
            true => Ok(Operator),
            false => Err(ApiError::unauthorized()),
        }
    }
}

/// Who manages a project's keys: the operator (any project) or a key with the
/// `admin` scope (its own project only).
pub enum ProjectAdmin {
    Operator,
    Project { project: Uuid, key: Uuid },
}

impl ProjectAdmin {
    /// The project every query is limited to; `None` for the operator.
    pub fn only_project(&self) -> Option<Uuid> {
        match self {
            Self::Operator => None,
            Self::Project { project, .. } => Some(*project),
        }
    }

    /// The project a query is limited to, from its `project_id` parameter: a
    /// key's own project (another project's id is 404, so ids do not leak);
    /// for the operator the named project, or `None` for all.
    pub fn project_named(&self, named: Option<&str>) -> Result<Option<Uuid>, ApiError> {
        let named = named
            .map(|id| {
                id.parse::<Uuid>()
                    .map_err(|_| ApiError::invalid("project_id", "not a project id"))
            })
            .transpose()?;
        match (self.only_project(), named) {
            (Some(own), Some(named)) if named != own => Err(ApiError::not_found("project")),
            (Some(own), _) => Ok(Some(own)),
            (None, named) => Ok(named),
        }
    }

    /// Who made a change, as the audit log records it.
    pub fn actor(&self) -> String {
        match self {
            Self::Operator => OPERATOR.into(),
            Self::Project { key, .. } => format!("key:{key}"),
        }
    }
}

/// The operator's name in the audit log.
pub const OPERATOR: &str = "operator";

impl FromRequestParts<AppState> for ProjectAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if state.settings.producer.admin_token.is_some() && is_operator(parts, state)? {
            return Ok(Self::Operator);
        }
        let caller = Caller::from_request_parts(parts, state).await?;
        Ok(Self::Project {
            project: caller.project_id,
            key: caller.key_id,
        })
    }
}
