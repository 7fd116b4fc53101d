mod admin_credentials;
mod admin_ids;
mod admin_model_dry_run;
mod admin_models;
mod admin_projects;
mod admin_providers;
mod admin_tenants;
mod admin_users;
pub(crate) mod api_doc;
mod api_keys;
mod audit;
mod budgets;
mod deliveries;
mod feedback;
mod files;
mod health;
mod job_events;
pub(crate) mod jobs;
mod json_body;
pub(crate) mod metrics;
mod models;
mod operator_audit;
mod rate_limits;
mod shapes;
mod stats;
mod submission;
mod submit;
mod time_range;
mod usage;
mod webhook_endpoints;
mod webhook_secret;

pub use submission::prefer_wait;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

/// Every route, and its documentation: one `routes!` per path, each handler
/// carrying its `#[utoipa::path]`. `api_doc` serves the document.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(api_doc::ApiDoc::openapi())
        .routes(routes!(submit::submit, jobs::list))
        .routes(routes!(jobs::get))
        .routes(routes!(jobs::cancel))
        .routes(routes!(job_events::follow))
        .routes(routes!(deliveries::list))
        .routes(routes!(deliveries::redeliver))
        .routes(routes!(feedback::put, feedback::get))
        .routes(routes!(feedback::summary))
        .routes(routes!(feedback::admin_summary))
        .routes(routes!(usage::report))
        .routes(routes!(stats::get))
        .routes(routes!(files::get))
        .routes(routes!(models::list))
        .routes(routes!(webhook_endpoints::list))
        .routes(routes!(webhook_endpoints::enable))
        .routes(routes!(webhook_secret::get))
        .routes(routes!(webhook_secret::rotate))
        .routes(routes!(api_keys::create, api_keys::list))
        .routes(routes!(api_keys::get, api_keys::revoke))
        .routes(routes!(audit::list))
        .routes(routes!(budgets::own))
        .routes(routes!(budgets::list))
        .routes(routes!(budgets::get, budgets::put, budgets::delete))
        .routes(routes!(admin_providers::list))
        .routes(routes!(
            admin_providers::get,
            admin_providers::put,
            admin_providers::delete
        ))
        .routes(routes!(admin_models::list))
        .routes(routes!(admin_models::get, admin_models::put, admin_models::delete))
        .routes(routes!(admin_model_dry_run::dry_run))
        .routes(routes!(admin_tenants::organizations))
        .routes(routes!(
            admin_tenants::organization,
            admin_tenants::put_organization,
            admin_tenants::delete_organization
        ))
        .routes(routes!(admin_tenants::instances))
        .routes(routes!(
            admin_tenants::instance,
            admin_tenants::put_instance,
            admin_tenants::delete_instance
        ))
        .routes(routes!(
            budgets::instance_get,
            budgets::instance_put,
            budgets::instance_delete
        ))
        .routes(routes!(admin_credentials::list))
        .routes(routes!(admin_credentials::put, admin_credentials::delete))
        .routes(routes!(admin_users::members))
        .routes(routes!(admin_users::put_member, admin_users::delete_member))
        .routes(routes!(admin_users::create, admin_users::list))
        .routes(routes!(admin_users::get, admin_users::update))
        .routes(routes!(admin_users::create_token, admin_users::tokens))
        .routes(routes!(admin_users::revoke_token))
        .routes(routes!(admin_users::create_project_key, admin_users::project_keys))
        .routes(routes!(admin_users::revoke_project_key))
        .routes(routes!(admin_projects::create, admin_projects::list))
        .routes(routes!(admin_projects::get, admin_projects::update))
        .routes(routes!(rate_limits::list))
        .routes(routes!(rate_limits::get, rate_limits::put, rate_limits::delete))
        .routes(routes!(health::healthz))
        .routes(routes!(metrics::render))
        .routes(routes!(health::readyz))
        .fallback(|| async { crate::error::ApiError::not_found("route") })
}
