//! A section's form, both ways: the fields a person sees (prefilled from the
//! entry being changed, or from what they sent when the API refused it), and
//! the API request their answers make — the route with the entry's names in
//! it and the JSON body. A value that cannot be sent (no number, no JSON) is
//! caught here and nothing is sent.

use serde_json::{Map, Value};

use super::sections::{Change, Field, Kind};
use crate::console::{session::encode, views::text};

/// What a person sent: the form's fields in order.
pub struct Posted(pub Vec<(String, String)>);

impl Posted {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn trimmed(&self, name: &str) -> &str {
        self.get(name).map(str::trim).unwrap_or_default()
    }
}

pub struct Choice {
    pub value: &'static str,
    pub selected: bool,
}

/// One field as the page draws it.
pub struct FormField {
    pub name: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    /// `text`, `number`, `password`, `select`, `checkbox` or `json`.
    pub input: &'static str,
    pub value: String,
    pub choices: Vec<Choice>,
    pub checked: bool,
    pub required: bool,
    /// Names the entry being changed: shown, not editable.
    pub locked: bool,
    /// The API or the console named this field in its refusal.
    pub invalid: bool,
}

/// A value the console would not send, and why.
pub struct Invalid {
    pub field: String,
    pub message: String,
}

fn names_entry(change: &Change, field: &Field) -> bool {
    change.route.contains(&format!("{{{}}}", field.name))
}

/// The form's fields, from what was sent if anything, else from the entry.
/// When `editing`, the fields that name the entry are locked.
pub fn fields(
    change: &Change,
    editing: bool,
    entry: Option<&Value>,
    posted: Option<&Posted>,
    invalid: Option<&str>,
) -> Vec<FormField> {
    change
        .fields
        .iter()
        .map(|field| {
            let stored = entry.map(|e| &e[field.from]);
            let sent = posted.and_then(|p| p.get(field.name));
            let (input, choices) = match &field.kind {
                Kind::Text => ("text", Vec::new()),
                Kind::Number => ("number", Vec::new()),
                Kind::Secret => ("password", Vec::new()),
                Kind::Flag => ("checkbox", Vec::new()),
                Kind::Body(_) => ("json", Vec::new()),
                Kind::Choice(options) => {
                    let current = sent.map(str::to_owned).or_else(|| stored.map(text)).unwrap_or_default();
                    let choices = options
                        .iter()
                        .map(|&value| Choice {
                            value,
                            selected: value == current,
                        })
                        .collect();
                    ("select", choices)
                }
            };
            let value = match (&field.kind, sent, stored) {
                // A secret is typed each time; nothing stored is drawn back.
                (Kind::Secret, _, _) => String::new(),
                (_, Some(sent), _) => sent.to_owned(),
                (Kind::Body(keys), None, Some(_)) => entry.map(|e| body_of(e, keys)).unwrap_or_default(),
                (_, None, Some(stored)) => text(stored),
                (_, None, None) => String::new(),
            };
            let checked = match (posted, stored) {
                (Some(_), _) => sent.is_some(),
                (None, Some(stored)) => !matches!(stored, Value::Null | Value::Bool(false)),
                (None, None) => false,
            };
            FormField {
                name: field.name,
                label: field.label,
                help: field.help,
                input,
                value,
                choices,
                checked,
                required: field.required,
                locked: editing && names_entry(change, field),
                invalid: invalid == Some(field.name),
            }
        })
        .collect()
}

/// The entry's writable fields as the JSON a person edits.
fn body_of(entry: &Value, keys: &[&str]) -> String {
    let body: Map<String, Value> = keys
        .iter()
        .filter_map(|key| {
            let value = &entry[*key];
            (!value.is_null()).then(|| ((*key).to_owned(), value.clone()))
        })
        .collect();
    serde_json::to_string_pretty(&body).unwrap_or_default()
}

/// The route with the entry's names (and the instance it is under) filled in.
pub fn route(route: &str, posted: &Posted, instance: Option<&str>) -> Result<String, Invalid> {
    let mut filled = String::with_capacity(route.len());
    let mut rest = route;
    while let Some(start) = rest.find('{') {
        filled.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else { break };
        let name = &rest[start + 1..start + end];
        let value = if name == "instance" {
            instance.unwrap_or_default()
        } else {
            posted.trimmed(name)
        };
        if value.is_empty() {
            return Err(Invalid {
                field: name.to_owned(),
                message: format!("{name} is required"),
            });
        }
        filled.push_str(&encode(value));
        rest = &rest[start + end + 1..];
    }
    filled.push_str(rest);
    Ok(filled)
}

/// The body the form's answers make.
pub fn body(change: &Change, posted: &Posted) -> Result<Value, Invalid> {
    let mut body = Map::new();
    for field in change.fields.iter().filter(|f| !names_entry(change, f)) {
        let sent = posted.trimmed(field.name);
        let missing = || Invalid {
            field: field.name.to_owned(),
            message: format!("{} is required", field.label),
        };
        let value = match &field.kind {
            Kind::Flag => Value::Bool(posted.get(field.name).is_some()),
            Kind::Body(_) => match serde_json::from_str::<Value>(sent) {
                Ok(Value::Object(object)) => {
                    body.extend(object);
                    continue;
                }
                Ok(_) => {
                    return Err(Invalid {
                        field: field.name.to_owned(),
                        message: format!("{} must be a JSON object", field.label),
                    })
                }
                Err(error) => {
                    return Err(Invalid {
                        field: field.name.to_owned(),
                        message: format!("{} is not valid JSON: {error}", field.label),
                    })
                }
            },
            _ if sent.is_empty() && field.required => return Err(missing()),
            _ if sent.is_empty() => continue,
            Kind::Number => number(sent).ok_or_else(|| Invalid {
                field: field.name.to_owned(),
                message: format!("{} must be a number", field.label),
            })?,
            Kind::Text | Kind::Secret | Kind::Choice(_) => Value::String(sent.to_owned()),
        };
        body.insert(field.name.to_owned(), value);
    }
    Ok(Value::Object(body))
}

fn number(text: &str) -> Option<Value> {
    if let Ok(integer) = text.parse::<i64>() {
        return Some(integer.into());
    }
    text.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::console::admin::sections::Section;

    fn posted(pairs: &[(&str, &str)]) -> Posted {
        Posted(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    fn form_of(slug: &str) -> &'static Change {
        Section::find(slug)
            .and_then(|s| s.edit.as_ref())
            .expect("a section with a change form")
    }

    #[test]
    fn a_provider_form_makes_the_admin_apis_route_and_body() {
        let sent = posted(&[
            ("id", "my forge"),
            ("kind", "http"),
            ("base_url", " http://127.0.0.1:9/v1 "),
            ("timeout_ms", "5000"),
            ("api_key", ""),
        ]);
        let change = form_of("providers");
        let uri = route(change.route, &sent, None).ok().expect("route");
        assert_eq!(uri, "/v1/admin/providers/my%20forge");
        let body = body(change, &sent).ok().expect("body");
        // A blank key keeps the stored one: it is not sent at all.
        assert_eq!(
            body,
            json!({"kind": "http", "base_url": "http://127.0.0.1:9/v1", "timeout_ms": 5000})
        );
    }

    #[test]
    fn what_cannot_be_sent_names_its_field() {
        let change = form_of("budgets");
        let bad = body(change, &posted(&[("project_id", "p"), ("monthly_usd", "ten")]));
        assert_eq!(bad.err().map(|e| e.field), Some("monthly_usd".to_owned()));
        let missing = route(change.route, &posted(&[("monthly_usd", "10")]), None);
        assert_eq!(missing.err().map(|e| e.field), Some("project_id".to_owned()));
        let model = form_of("models");
        let not_json = body(model, &posted(&[("id", "m"), ("body", "{ nope")]));
        assert_eq!(not_json.err().map(|e| e.field), Some("body".to_owned()));
        let not_object = body(model, &posted(&[("id", "m"), ("body", "[1]")]));
        assert!(not_object.err().is_some_and(|e| e.message.contains("JSON object")));
    }

    #[test]
    fn a_sections_instance_fills_its_routes() {
        let change = form_of("members");
        let sent = posted(&[("user", "0199"), ("role", "viewer")]);
        let uri = route(change.route, &sent, Some("acme-prod")).ok().expect("route");
        assert_eq!(uri, "/v1/admin/instances/acme-prod/members/0199");
        assert_eq!(body(change, &sent).ok(), Some(json!({"role": "viewer"})));
    }

    #[test]
    fn a_form_is_prefilled_from_the_entry_but_never_with_a_secret() {
        let entry = json!({"id": "forge", "kind": "http", "base_url": "http://x", "timeout_ms": 5000,
                           "api_key": {"set": true, "last4": "9z9z"}});
        let fields = fields(form_of("providers"), true, Some(&entry), None, Some("base_url"));
        let by_name = |name: &str| fields.iter().find(|f| f.name == name).expect("field");
        assert!(by_name("id").locked && by_name("id").value == "forge");
        assert_eq!(by_name("timeout_ms").value, "5000");
        assert_eq!(by_name("api_key").value, "");
        assert!(by_name("kind").choices.iter().any(|c| c.value == "http" && c.selected));
        assert!(by_name("base_url").invalid);
        // A model's configuration is its writable fields, as JSON.
        let model = json!({"id": "m", "modality": "text", "provider": "p", "created_at": "then"});
        let fields = super::fields(form_of("models"), true, Some(&model), None, None);
        let config: Value = serde_json::from_str(&fields[1].value).expect("json");
        assert_eq!(config, json!({"modality": "text", "provider": "p"}));
    }

    #[test]
    fn a_flag_is_sent_ticked_or_not() {
        let change = form_of("users");
        assert_eq!(
            body(change, &posted(&[("id", "u"), ("disabled", "true")])).ok(),
            Some(json!({"disabled": true}))
        );
        assert_eq!(
            body(change, &posted(&[("id", "u")])).ok(),
            Some(json!({"disabled": false}))
        );
    }
}
