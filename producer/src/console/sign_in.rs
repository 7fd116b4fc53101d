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
    api::Api,
    page::render,
    session::{forbidden, CsrfForm, Session},
};
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
        operator: false,
    };
    // A project key reads its jobs; the operator's token reads the rate limits.
    let as_project = api.get(&session, "/v1/jobs?limit=1").await;
    if !as_project.ok() {
        session.operator = true;
        if !api.get(&session, "/v1/admin/rate-limits").await.ok() {
            let message = match as_project.code() {
                Some("key_expired") => "This API key has expired. Create a new one and sign in with it.",
                Some("insufficient_scope") => "This API key cannot read jobs (it lacks the jobs:read scope).",
                _ => "That key was not accepted. Check that it is a current DE API key.",
            };
            return refused(message);
        }
    }
    let secure = state.settings.producer.public_url.starts_with("https://");
    let mut response = Redirect::to(if session.operator {
        "/console/rate-limits"
    } else {
        "/console/overview"
    })
    .into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        Session::cookie(&session.credential, session.operator, secure),
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
