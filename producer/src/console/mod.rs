//! The web console at `/console`: server-rendered pages (askama templates in
//! `producer/templates/console/`) with a little vendored JavaScript (htmx and
//! its server-sent-events extension, uPlot), signed in with an API key kept in
//! an HttpOnly cookie (`session`). Every page reads and changes DE through
//! DE's own API (`api`), so it shows and allows exactly what the key may.
//!
//! Where a page's data comes from: `overview` ← `GET /v1/stats` (live over
//! SSE), `jobs` ← `/v1/jobs…`, `playground` ← `/v1/models` and `POST /v1/jobs`,
//! `keys` ← `/v1/admin/keys`, `rate_limits` ← `/v1/admin/rate-limits`,
//! `webhooks` ← `/v1/webhook-secret` and `/v1/webhook-endpoints`, `admin` ←
//! the other `/v1/admin/…` routes.

mod admin;
mod assets;
mod jobs;
mod keys;
mod overview;
mod page;
mod playground;
mod rate_limits;
mod session;
mod sign_in;
mod views;
mod webhooks;

use axum::{
    extract::Request,
    http::{header, HeaderValue},
    middleware::Next,
    response::{Redirect, Response},
    routing::{get, post},
    Extension, Router,
};

pub use crate::in_process::Api;

use crate::state::AppState;

pub fn router(api: Api) -> Router<AppState> {
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/overview") }))
        .route("/console/", get(|| async { Redirect::to("/console/overview") }))
        .route("/console/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/console/sign-out", post(sign_in::sign_out))
        .route("/console/assets/{name}", get(assets::get))
        .route("/console/overview", get(overview::page))
        .route("/console/overview/live", get(overview::live))
        .route("/console/jobs", get(jobs::list))
        .route("/console/jobs/{id}", get(jobs::page))
        .route("/console/jobs/{id}/cancel", post(jobs::cancel))
        .route(
            "/console/jobs/{id}/deliveries/{delivery}/redeliver",
            post(jobs::redeliver),
        )
        .route("/console/playground", get(playground::page).post(playground::submit))
        .route("/console/playground/form", get(playground::form))
        .route("/console/keys", get(keys::page).post(keys::create))
        .route("/console/keys/{id}/revoke", post(keys::revoke))
        .route("/console/admin", get(admin::index))
        .route("/console/admin/{section}", get(admin::section))
        .route("/console/admin/{section}/new", get(admin::new_form))
        .route("/console/admin/{section}/edit", get(admin::edit_form))
        .route("/console/admin/{section}/save", post(admin::save))
        .route("/console/admin/{section}/delete", post(admin::delete))
        .route("/console/admin/{section}/dry-run", post(admin::dry_run))
        .route("/console/webhooks", get(webhooks::page))
        .route("/console/webhooks/rotate", post(webhooks::rotate))
        .route("/console/webhooks/enable", post(webhooks::enable))
        .route("/console/rate-limits", get(rate_limits::page))
        .route("/console/rate-limits/{id}", post(rate_limits::update))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(Extension(api))
}

/// Pages load only this origin's scripts and are never framed or cached;
/// outputs (images, audio, video) may come from the object store's links.
/// `same-origin` referrers: with `no-referrer` browsers send `Origin: null`
/// on the console's own forms, and the CSRF check could not tell them apart.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: blob: http: https:; media-src 'self' blob: http: https:; \
             connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
