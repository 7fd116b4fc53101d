//! Signing in with an API key (or the operator's token) and out again.

use askama::Template;
use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Extension, Form,
};
use serde::Deserialize;

use super::{
    page::render,
    session::{forbidden, CsrfForm, Holder, Session},
};
use crate::in_process::Api;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignIn {
    error: Option<String>,
}

pub async fn form() -> Response {
    render(&SignIn { error: None })
}

#[derive(Deserialize)]
pub struct Credentials {
    key: String,
}

pub async fn submit(
    State(state): State<AppState>,
    Extension(api): Extension<Api>,
    Form(credentials): Form<Credentials>,
) -> Response {
    let key = credentials.key.trim().to_owned();
    if key.is_empty() {
        return refused("Paste an API key to sign in.");
    }
    let mut session = Session {
        credential: key,
        holder: Holder::Operator,
    };
    // The operator's token reads the rate limits (only it may); a project key
    // its jobs; a user's token the instances it has a role in.
    if !api.get(&session, "/v1/admin/rate-limits").await.ok() {
        session.holder = Holder::Project;
        let as_project = api.get(&session, "/v1/jobs?limit=1").await;
        if !as_project.ok() {
            session.holder = Holder::User;
            if !api.get(&session, "/v1/admin/instances").await.ok() {
                let message = match as_project.code() {
                    Some("key_expired") => "This API key has expired. Create a new one and sign in with it.",
                    Some("insufficient_scope") => "This API key cannot read jobs (it lacks the jobs:read scope).",
                    _ => "That key was not accepted. Check that it is a current DE API key, user token or the operator's token.",
                };
                return refused(message);
            }
        }
    }
    let secure = state.settings.producer.public_url.starts_with("https://");
    let mut response = Redirect::to(match session.holder {
        Holder::Operator => "/console/rate-limits",
        Holder::User => "/console/admin/instances",
        Holder::Project => "/console/overview",
    })
    .into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        Session::cookie(&session.credential, session.holder, secure),
    );
    response
}

fn refused(message: &str) -> Response {
    let mut response = render(&SignIn {
        error: Some(message.to_owned()),
    });
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    response
}

pub async fn sign_out(session: Session, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    if !session.allows_change(&headers, &form.csrf) {
        return forbidden();
    }
    let mut response = Redirect::to("/console/sign-in").into_response();
    response.headers_mut().insert(header::SET_COOKIE, Session::cleared());
    response
}
