//! A generic HTTP model's dry run, on its page: the request its mapping (the
//! saved one, or the one in the editor, unsaved) would send for an input, as
//! `POST /v1/admin/models/{id}/dry-run` shows it — nothing is sent or saved.

use axum::{
    extract::Path,
    http::{HeaderMap, Method},
    response::{IntoResponse, Redirect, Response},
    Extension, Form,
};
use serde_json::{json, Value};

use super::{change_request, form::Posted, Draft};
use crate::console::{
    session::{encode, Session},
    views::pretty,
};
use crate::in_process::Api;

/// The dry run's part of a model's page.
pub struct View {
    pub input: String,
    /// The request it would send, as JSON.
    pub result: Option<String>,
    pub error: Option<String>,
}

const SAMPLE_INPUT: &str = "{\n  \"prompt\": \"A lighthouse at dusk\"\n}";

impl View {
    /// For a model whose configuration has a mapping to try; `None` otherwise.
    pub fn blank(entry: &Value) -> Option<Self> {
        (!entry["http_mapping"].is_null()).then(|| Self {
            input: SAMPLE_INPUT.into(),
            result: None,
            error: None,
        })
    }

    /// Kept as it was sent when the page is drawn again.
    pub fn sent(posted: &Posted) -> Option<Self> {
        let mapped = posted.get("body").is_some_and(|body| body.contains("http_mapping"));
        mapped.then(|| Self {
            input: posted.get("input").unwrap_or(SAMPLE_INPUT).to_owned(),
            result: None,
            error: None,
        })
    }
}

pub async fn dry_run(
    session: Session,
    Extension(api): Extension<Api>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(posted): Form<Vec<(String, String)>>,
) -> Response {
    let (posted, section, _) = match change_request(&session, &headers, &slug, posted) {
        Ok(request) => request,
        Err(refused) => return refused.into_response(),
    };
    let Some(change) = section.edit.as_ref().filter(|_| section.slug == "models") else {
        return Redirect::to("/console/admin/models").into_response();
    };
    let draft = Draft {
        section,
        change,
        mode: "edit",
        instance: None,
    };
    let mut view = View {
        input: posted.get("input").unwrap_or(SAMPLE_INPUT).to_owned(),
        result: None,
        error: None,
    };
    match request(&posted) {
        Err(message) => view.error = Some(message),
        Ok(body) => {
            let uri = format!("/v1/admin/models/{}/dry-run", encode(posted.trimmed("id")));
            let answer = api.send(&session, Method::POST, &uri, Some(&body)).await;
            if answer.ok() {
                view.result = Some(pretty(&answer.body));
            } else {
                view.error = Some(answer.message());
            }
        }
    }
    draft.page(&session, None, Some(&posted), None, Some(view))
}

/// The dry run's body: the input, and the editor's mapping when it has one.
fn request(posted: &Posted) -> Result<Value, String> {
    let input: Value = serde_json::from_str(posted.trimmed("input"))
        .map_err(|error| format!("The input is not valid JSON: {error}"))?;
    let mut body = json!({ "input": input });
    let config: Value = serde_json::from_str(posted.trimmed("body"))
        .map_err(|error| format!("The configuration is not valid JSON: {error}"))?;
    if !config["http_mapping"].is_null() {
        body["http_mapping"] = config["http_mapping"].clone();
    }
    Ok(body)
}
