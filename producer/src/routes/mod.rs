mod admin_credentials;
mod admin_ids;
mod admin_model_dry_run;
mod admin_models;
mod admin_projects;
mod admin_providers;
mod admin_tenants;
mod admin_users;
mod api_keys;
mod audit;
mod budgets;
mod deliveries;
mod feedback;
mod files;
mod health;
mod jobs;
mod json_body;
pub(crate) mod metrics;
mod models;
mod operator_audit;
mod rate_limits;
mod submission;
mod submit;
mod time_range;
mod usage;
mod webhook_endpoints;
mod webhook_secret;

use axum::{
    routing::{get, post},
    Router,
};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/jobs", post(submit::submit).get(jobs::list))
        .route("/v1/jobs/{id}", get(jobs::get))
        .route("/v1/jobs/{id}/cancel", post(jobs::cancel))
        .route("/v1/jobs/{id}/deliveries", get(deliveries::list))
        .route(
            "/v1/jobs/{id}/deliveries/{delivery}/redeliver",
            post(deliveries::redeliver),
        )
        .route("/v1/jobs/{id}/feedback", post(feedback::put).get(feedback::get))
        .route("/v1/feedback/summary", get(feedback::summary))
        .route("/v1/admin/feedback/summary", get(feedback::admin_summary))
        .route("/v1/usage", get(usage::report))
        .route("/v1/files/{*key}", get(files::get))
        .route("/v1/models", get(models::list))
        .route("/v1/webhook-endpoints", get(webhook_endpoints::list))
        .route("/v1/webhook-endpoints/enable", post(webhook_endpoints::enable))
        .route("/v1/webhook-secret", get(webhook_secret::get))
        .route("/v1/webhook-secret/rotate", post(webhook_secret::rotate))
        .route("/v1/admin/keys", post(api_keys::create).get(api_keys::list))
        .route("/v1/admin/keys/{id}", get(api_keys::get).delete(api_keys::revoke))
        .route("/v1/admin/audit", get(audit::list))
        .route("/v1/budget", get(budgets::own))
        .route("/v1/admin/budgets", get(budgets::list))
        .route(
            "/v1/admin/budgets/{project_id}",
            get(budgets::get).put(budgets::put).delete(budgets::delete),
        )
        .route("/v1/admin/providers", get(admin_providers::list))
        .route(
            "/v1/admin/providers/{id}",
            get(admin_providers::get)
                .put(admin_providers::put)
                .delete(admin_providers::delete),
        )
        .route("/v1/admin/models", get(admin_models::list))
        .route(
            "/v1/admin/models/{id}",
            get(admin_models::get)
                .put(admin_models::put)
                .delete(admin_models::delete),
        )
        .route("/v1/admin/models/{id}/dry-run", post(admin_model_dry_run::dry_run))
        .route("/v1/admin/organizations", get(admin_tenants::organizations))
        .route(
            "/v1/admin/organizations/{id}",
            get(admin_tenants::organization)
                .put(admin_tenants::put_organization)
                .delete(admin_tenants::delete_organization),
        )
        .route("/v1/admin/instances", get(admin_tenants::instances))
        .route(
            "/v1/admin/instances/{id}",
            get(admin_tenants::instance)
                .put(admin_tenants::put_instance)
                .delete(admin_tenants::delete_instance),
        )
        .route(
            "/v1/admin/instances/{id}/budget",
            get(budgets::instance_get)
                .put(budgets::instance_put)
                .delete(budgets::instance_delete),
        )
        .route("/v1/admin/instances/{id}/credentials", get(admin_credentials::list))
        .route(
            "/v1/admin/instances/{id}/credentials/{provider}",
            axum::routing::put(admin_credentials::put).delete(admin_credentials::delete),
        )
        .route("/v1/admin/instances/{id}/members", get(admin_users::members))
        .route(
            "/v1/admin/instances/{id}/members/{user}",
            axum::routing::put(admin_users::put_member).delete(admin_users::delete_member),
        )
        .route("/v1/admin/users", post(admin_users::create).get(admin_users::list))
        .route("/v1/admin/users/{id}", get(admin_users::get).patch(admin_users::update))
        .route(
            "/v1/admin/users/{id}/tokens",
            post(admin_users::create_token).get(admin_users::tokens),
        )
        .route(
            "/v1/admin/users/{id}/tokens/{token}",
            axum::routing::delete(admin_users::revoke_token),
        )
        .route(
            "/v1/admin/projects/{id}/keys",
            post(admin_users::create_project_key).get(admin_users::project_keys),
        )
        .route(
            "/v1/admin/projects/{id}/keys/{key}",
            axum::routing::delete(admin_users::revoke_project_key),
        )
        .route(
            "/v1/admin/projects",
            post(admin_projects::create).get(admin_projects::list),
        )
        .route(
            "/v1/admin/projects/{id}",
            get(admin_projects::get).patch(admin_projects::update),
        )
        .route("/v1/admin/rate-limits", get(rate_limits::list))
        .route(
            "/v1/admin/rate-limits/{id}",
            get(rate_limits::get).put(rate_limits::put).delete(rate_limits::delete),
        )
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::render))
        .route("/readyz", get(health::readyz))
        .fallback(|| async { crate::error::ApiError::not_found("route") })
}
