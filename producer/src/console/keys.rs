//! API keys: the list, creating one (its secret shown once, on the page the
//! create redirects to) and revoking one. Managing keys takes a key with the
//! `admin` scope, or the operator's token; anything less sees the API's refusal.

use std::collections::HashMap;

use askama::Template;
use axum::{
    extract::Path,
    http::{header, HeaderMap, HeaderValue, Method},
    response::{IntoResponse, Redirect, Response},
    Extension, Form,
};
use serde_json::{json, Value};

use super::{
    page::{render, Page},
    session::{cookie, encode, forbidden, Session},
    views::{text, time},
};
use crate::in_process::Api;

const SCOPES: &[&str] = &["jobs:write", "jobs:read", "admin"];

pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub created: String,
    pub last_used: String,
    pub revoked: String,
}

#[derive(Template)]
#[template(path = "console/keys.html")]
struct KeysPage {
    page: Page,
    keys: Vec<KeyRow>,
    scopes: &'static [&'static str],
    /// The key just created, shown this once.
    created: Option<String>,
}

/// Carries a new key from the create to the page that shows it, once: the
/// create redirects (so a reload cannot make a second key) and the page clears it.
const NEW_KEY: &str = "de_console_new_key";

pub async fn page(session: Session, Extension(api): Extension<Api>, headers: HeaderMap) -> Response {
    let Some(created) = cookie(&headers, NEW_KEY) else {
        return draw(&session, &api, None, None, None).await;
    };
    let notice = Some("Key created. Copy it now: it is not shown again.".into());
    let mut response = draw(&session, &api, Some(created), notice, None).await;
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("de_console_new_key=; Path=/console/keys; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}

async fn draw(
    session: &Session,
    api: &Api,
    created: Option<String>,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let answer = api.get(session, "/v1/admin/keys").await;
    let mut page = Page::new(session, "keys", "API keys")
        .with_notice(notice)
        .with_error(error);
    if !answer.ok() {
        page.error = page.error.or(Some(answer.message()));
    }
    let keys = answer.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| KeyRow {
            id: text(&k["id"]),
            name: text(&k["name"]),
            prefix: text(&k["prefix"]),
            scopes: k["scopes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect::<Vec<_>>()
                .join(", "),
            created: time(&k["created_at"]),
            last_used: Some(time(&k["last_used_at"]))
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "never".into()),
            revoked: time(&k["revoked_at"]),
        })
        .collect();
    render(&KeysPage {
        page,
        keys,
        scopes: SCOPES,
        created,
    })
}

pub async fn create(
    session: Session,
    Extension(api): Extension<Api>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let value = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned());
    if !session.allows_change(&headers, &value("csrf").unwrap_or_default()) {
        return forbidden();
    }
    let scopes: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut body = json!({ "name": value("name").unwrap_or_default() });
    if !scopes.is_empty() {
        body["scopes"] = json!(scopes);
    }
    if let Some(project) = value("project_id").filter(|p| !p.is_empty()) {
        body["project_id"] = Value::String(project);
    }
    let answer = api.send(&session, Method::POST, "/v1/admin/keys", Some(&body)).await;
    if answer.ok() {
        let key = answer.body["key"].as_str().unwrap_or_default();
        let cookie = format!(
            "{NEW_KEY}={}; Path=/console/keys; HttpOnly; SameSite=Strict; Max-Age=120",
            encode(key)
        );
        let mut response = Redirect::to("/console/keys").into_response();
        if let Ok(cookie) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, cookie);
        }
        response
    } else {
        draw(&session, &api, None, None, Some(answer.message())).await
    }
}

pub async fn revoke(
    session: Session,
    Extension(api): Extension<Api>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !session.allows_change(&headers, form.get("csrf").map_or("", String::as_str)) {
        return forbidden();
    }
    let id = encode(&id);
    let answer = api
        .send(&session, Method::DELETE, &format!("/v1/admin/keys/{id}"), None)
        .await;
    if answer.ok() {
        Redirect::to("/console/keys").into_response()
    } else {
        draw(&session, &api, None, None, Some(answer.message())).await
    }
}
