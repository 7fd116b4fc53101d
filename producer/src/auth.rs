//! `Authorization: Bearer <key>` → the project the request acts for. Keys are
//! looked up by hash and cached briefly so submit throughput does not pay a query
//! per request; a revoked key stops working within `CACHE_TTL`. The admin API
//! takes the operator's token (`DE_ADMIN_TOKEN`) instead.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{extract::FromRequestParts, http::request::Parts};
use electrons_domain::auth::{hash_key, project_for_key};
use uuid::Uuid;

use crate::{error::ApiError, state::AppState};

const CACHE_TTL: Duration = Duration::from_secs(30);

#[derive(Clone, Default)]
pub struct KeyCache {
    entries: Arc<Mutex<HashMap<String, (Uuid, Instant)>>>,
}

impl KeyCache {
    fn get(&self, hash: &str) -> Option<Uuid> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(hash)
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
            .map(|(project, _)| *project)
    }

    fn put(&self, hash: String, project: Uuid) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() > 10_000 {
            entries.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
        }
        entries.insert(hash, (project, Instant::now()));
    }
}

/// The authenticated caller.
pub struct Caller {
    pub project_id: Uuid,
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
        let hash = hash_key(key);
        if let Some(project_id) = state.keys.get(&hash) {
            return Ok(Caller { project_id });
        }
        let project_id = project_for_key(&state.pool, key)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        state.keys.put(hash, project_id);
        Ok(Caller { project_id })
    }
}

/// The operator, for the admin API.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = &state.settings.producer.admin_token else {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "admin_disabled",
                "the admin API is off; set DE_ADMIN_TOKEN to enable it",
            ));
        };
        // Compared as hashes, so the time taken says nothing about the token.
        let given = bearer(parts).map(hash_key);
        if given.as_deref() == Some(hash_key(token.expose()).as_str()) {
            Ok(Admin)
        } else {
            Err(ApiError::unauthorized())
        }
    }
}
