//! The playground: pick a model, fill a form generated from its input fields
//! (`GET /v1/models` → `input_fields`), submit, and follow the job on its page.
//! "Copy as curl" (console.js) writes the same request with `$DE_API_KEY`.

use std::collections::HashMap;

use askama::Template;
use axum::{
    extract::Query,
    http::{HeaderMap, Method},
    response::{IntoResponse, Redirect, Response},
    Extension, Form,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{
    page::{render, Page},
    session::{forbidden, Session},
};
use crate::in_process::Api;

/// One model in the picker.
pub struct ModelOption {
    pub id: String,
    pub label: String,
}

pub struct ChoiceOption {
    pub value: String,
    pub selected: bool,
}

/// One field of the form.
pub struct FormField {
    pub name: String,
    pub kind: String,
    pub required: bool,
    pub choices: Vec<ChoiceOption>,
    pub min: String,
    pub max: String,
    pub help: String,
    pub value: String,
}

#[derive(Template)]
#[template(path = "console/playground.html")]
struct PlaygroundPage {
    page: Page,
    models: Vec<ModelOption>,
    form: FieldsForm,
}

#[derive(Template)]
#[template(path = "console/playground_fields.html")]
struct FieldsForm {
    model: String,
    fields: Vec<FormField>,
}

#[derive(Deserialize, Default)]
pub struct Chosen {
    model: Option<String>,
}

pub async fn page(session: Session, Extension(api): Extension<Api>, Query(chosen): Query<Chosen>) -> Response {
    draw(&session, &api, chosen.model, &HashMap::new(), None).await
}

pub async fn form(session: Session, Extension(api): Extension<Api>, Query(chosen): Query<Chosen>) -> Response {
    let models = api.get(&session, "/v1/models").await;
    let catalog = models.body["data"].as_array().cloned().unwrap_or_default();
    let model = chosen.model.unwrap_or_default();
    render(&fields_form(&catalog, &model, &HashMap::new()))
}

async fn draw(
    session: &Session,
    api: &Api,
    model: Option<String>,
    values: &HashMap<String, String>,
    error: Option<String>,
) -> Response {
    let answer = api.get(session, "/v1/models").await;
    let mut page = Page::new(session, "playground", "Playground").with_error(error);
    if !answer.ok() {
        page.error = Some(answer.message());
    }
    let catalog = answer.body["data"].as_array().cloned().unwrap_or_default();
    let models: Vec<ModelOption> = catalog
        .iter()
        .filter(|m| m["status"].as_str() != Some("retired"))
        .map(|m| {
            let id = m["id"].as_str().unwrap_or_default().to_owned();
            ModelOption {
                label: format!(
                    "{id} — {} ({})",
                    m["modality"].as_str().unwrap_or_default(),
                    m["provider"].as_str().unwrap_or_default()
                ),
                id,
            }
        })
        .collect();
    let model = model
        .filter(|m| models.iter().any(|o| &o.id == m))
        .or_else(|| models.first().map(|m| m.id.clone()))
        .unwrap_or_default();
    render(&PlaygroundPage {
        page,
        form: fields_form(&catalog, &model, values),
        models,
    })
}

fn fields_form(catalog: &[Value], model: &str, values: &HashMap<String, String>) -> FieldsForm {
    let entry = catalog.iter().find(|m| m["id"].as_str() == Some(model));
    let number = |v: &Value| v.as_f64().map(|n| n.to_string()).unwrap_or_default();
    let fields = entry
        .and_then(|m| m["input_fields"].as_array())
        .into_iter()
        .flatten()
        .map(|f| {
            let name = f["name"].as_str().unwrap_or_default().to_owned();
            let value = values.get(&format!("f.{name}")).cloned().unwrap_or_default();
            FormField {
                kind: f["kind"].as_str().unwrap_or("text").to_owned(),
                required: f["required"].as_bool().unwrap_or(false),
                choices: f["choices"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.as_str())
                    .map(|c| ChoiceOption {
                        selected: c == value,
                        value: c.to_owned(),
                    })
                    .collect(),
                min: number(&f["min"]),
                max: number(&f["max"]),
                help: f["help"].as_str().unwrap_or_default().to_owned(),
                value,
                name,
            }
        })
        .collect();
    FieldsForm {
        model: model.to_owned(),
        fields,
    }
}

/// The job's `input` from the form: empty fields left out, numbers as numbers.
fn input_from(values: &HashMap<String, String>, kinds: &[FormField]) -> Result<Value, String> {
    let mut input = Map::new();
    for field in kinds {
        let Some(raw) = values.get(&format!("f.{}", field.name)).map(|v| v.trim()) else {
            continue;
        };
        if raw.is_empty() {
            continue;
        }
        let value = match field.kind.as_str() {
            "integer" => raw
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| format!("{} must be a whole number", field.name))?,
            "number" => raw
                .parse::<f64>()
                .map(Value::from)
                .map_err(|_| format!("{} must be a number", field.name))?,
            "json" => {
                return serde_json::from_str::<Value>(raw)
                    .ok()
                    .filter(Value::is_object)
                    .ok_or_else(|| "the input must be a JSON object".to_owned())
            }
            _ => Value::String(raw.to_owned()),
        };
        input.insert(field.name.clone(), value);
    }
    Ok(Value::Object(input))
}

pub async fn submit(
    session: Session,
    Extension(api): Extension<Api>,
    headers: HeaderMap,
    Form(values): Form<HashMap<String, String>>,
) -> Response {
    if !session.allows_change(&headers, values.get("csrf").map_or("", String::as_str)) {
        return forbidden();
    }
    let model = values.get("model").cloned().unwrap_or_default();
    let models = api.get(&session, "/v1/models").await;
    let catalog = models.body["data"].as_array().cloned().unwrap_or_default();
    let form = fields_form(&catalog, &model, &values);
    let input = match input_from(&values, &form.fields) {
        Ok(input) => input,
        Err(message) => return draw(&session, &api, Some(model), &values, Some(message)).await,
    };
    let answer = api
        .send(
            &session,
            Method::POST,
            "/v1/jobs",
            Some(&json!({ "model": model, "input": input })),
        )
        .await;
    match answer.body["id"].as_str().filter(|_| answer.ok()) {
        Some(id) => Redirect::to(&format!("/console/jobs/{id}")).into_response(),
        None => draw(&session, &api, Some(model), &values, Some(answer.message())).await,
    }
}
