//! Who acts on the instance-level admin API: the operator (`DE_ADMIN_TOKEN`,
//! above every instance) or a user with a token of their own (`de_user_…`),
//! who may do in an instance what their role there allows. A user with no role
//! in an instance is told it does not exist (404, so ids do not leak); one whose
//! role is too low is refused with the role needed (403).

use axum::{
    extract::FromRequestParts,
    http::{request::Parts, StatusCode},
};
use electrons_domain::{
    auth::{key_format, Role},
    db::users,
};
use sqlx::PgExecutor;
use uuid::Uuid;

use super::{bearer, is_operator, OPERATOR};
use crate::{error::ApiError, state::AppState};

#[derive(Clone, Copy, Debug)]
pub enum Actor {
    Operator,
    User { user: Uuid },
}

impl Actor {
    /// Who made a change, as the audit log records it.
    pub fn name(&self) -> String {
        match self {
            Self::Operator => OPERATOR.into(),
            Self::User { user, .. } => format!("user:{user}"),
        }
    }

    /// Fleet-wide changes (organizations, creating instances, users) are the operator's.
    pub fn operator_only(&self) -> Result<(), ApiError> {
        match self {
            Self::Operator => Ok(()),
            Self::User { .. } => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "operator_only",
                "only the operator (DE_ADMIN_TOKEN) may do this",
            )),
        }
    }

    /// The actor's role in `instance`: the operator is above every owner
    /// (`None` for the operator, who needs no role).
    pub async fn role_in(&self, db: impl PgExecutor<'_>, instance: &str) -> Result<Option<Role>, ApiError> {
        match self {
            Self::Operator => Ok(Some(Role::Owner)),
            Self::User { user, .. } => Ok(users::role_in(db, *user, instance).await?),
        }
    }

    /// Allowed only with at least `least` in `instance`: 404 without any role
    /// there, 403 with too little.
    pub async fn require(&self, db: impl PgExecutor<'_>, instance: &str, least: Role) -> Result<Role, ApiError> {
        match self.role_in(db, instance).await? {
            None => Err(ApiError::not_found("instance")),
            Some(role) if role < least => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "insufficient_role",
                format!(
                    "this needs the {} role in instance {instance:?}; you are {}",
                    least.as_str(),
                    role.as_str()
                ),
            )),
            Some(role) => Ok(role),
        }
    }
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if state.settings.producer.admin_token.is_some() && is_operator(parts, state)? {
            return Ok(Self::Operator);
        }
        let token = bearer(parts).ok_or_else(ApiError::unauthorized)?;
        if !key_format::is_user_token(token) {
            return Err(ApiError::unauthorized());
        }
        let (user, _token) = users::authenticate(&state.pool, token)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        Ok(Self::User { user })
    }
}
