//! What a mapping must be to be saved: every placeholder is one its modality
//! offers (or a default names), has the type where it stands (a list only as a
//! whole body value, never inside text) and a value for every job where it
//! cannot be left out; the key only in headers and the path; every pointer a
//! JSON pointer. The first problem is refused naming its spot
//! (`http_mapping.request.body.parameters.steps`). And what a job of such a
//! model may ask: only what the mapping sends.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{
    is_valid_pointer,
    slots::{slots, Slot, SlotType, API_KEY, DE_FIELDS, OPERATION_ID},
    template::{is_name, pieces, whole, Piece},
    HttpMapping, OutputFormat, RequestTemplate,
};
use crate::{input::FieldError, job::Modality};

const ROOT: &str = "http_mapping";
/// Placeholders that carry the prompt; a request must use one.
const PROMPT_SLOTS: &[&str] = &["prompt", "messages", "messages_with_system"];

/// Which request a template string belongs to, and where in it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Path,
    Header,
    Body,
}

struct Checker<'a> {
    modality: Modality,
    slots: &'static [Slot],
    defaults: &'a Map<String, Value>,
    /// Checking the status request, which alone knows `{{operation_id}}`.
    in_poll: bool,
}

fn invalid(at: &str, message: impl Into<String>) -> FieldError {
    FieldError::invalid(at, message)
}

impl HttpMapping {
    pub fn validate(&self, modality: Modality) -> Result<(), FieldError> {
        let slots = slots(modality).ok_or_else(|| {
            invalid(
                ROOT,
                format!("the generic HTTP provider serves text and image models, not {modality}"),
            )
        })?;
        let mut checker = Checker {
            modality,
            slots,
            defaults: &self.defaults,
            in_poll: false,
        };
        checker.defaults()?;
        checker.request(&self.request, &format!("{ROOT}.request"))?;
        if !self.placeholders().iter().any(|name| PROMPT_SLOTS.contains(name)) {
            return Err(invalid(
                &format!("{ROOT}.request"),
                "the request never sends the prompt: use {{prompt}}, {{messages}} or {{messages_with_system}}",
            ));
        }
        self.check_response(modality)?;
        if let Some(operation) = &self.operation {
            let at = format!("{ROOT}.async");
            pointer(&format!("{at}.operation_id"), &operation.operation_id)?;
            checker.in_poll = true;
            checker.request(&operation.poll, &format!("{at}.poll"))?;
            if !names_in_request(&operation.poll).contains(OPERATION_ID) {
                return Err(invalid(
                    &format!("{at}.poll.path"),
                    "the status request never names the operation: use {{operation_id}}",
                ));
            }
            pointer(&format!("{at}.status"), &operation.status)?;
            if operation.done.is_empty() {
                return Err(invalid(
                    &format!("{at}.done"),
                    "list the status values that mean the operation is finished",
                ));
            }
            if let Some(both) = operation.done.iter().find(|value| operation.failed.contains(value)) {
                return Err(invalid(
                    &format!("{at}.failed"),
                    format!("{both} is listed as both done and failed"),
                ));
            }
            if let Some(reason) = &operation.failure_reason {
                pointer(&format!("{at}.failure_reason"), reason)?;
            }
        }
        Ok(())
    }

    /// A job's input asks only for what the mapping sends: a field no
    /// placeholder carries would be dropped without a word, so it is refused.
    pub fn check_input_fields(&self, model: &str, modality: Modality, input: &Value) -> Result<(), FieldError> {
        let (Some(slots), Some(fields)) = (slots(modality), input.as_object()) else {
            return Ok(());
        };
        let used = self.placeholders();
        for field in fields.keys() {
            if DE_FIELDS.contains(&field.as_str()) {
                continue;
            }
            let carried = slots
                .iter()
                .any(|slot| used.contains(slot.name) && slot.carries.contains(&field.as_str()));
            if !carried {
                return Err(invalid(
                    &format!("input.{field}"),
                    format!("{model} does not take {field}: its HTTP mapping never sends it"),
                ));
            }
        }
        Ok(())
    }

    /// Every placeholder the requests use.
    fn placeholders(&self) -> BTreeSet<&str> {
        let mut names = names_in_request(&self.request);
        if let Some(operation) = &self.operation {
            names.extend(names_in_request(&operation.poll));
        }
        names
    }

    fn check_response(&self, modality: Modality) -> Result<(), FieldError> {
        let at = format!("{ROOT}.response");
        let response = &self.response;
        pointer(&format!("{at}.output"), &response.output)?;
        for (name, value) in [
            ("output_item", &response.output_item),
            ("input_tokens", &response.input_tokens),
            ("output_tokens", &response.output_tokens),
            ("finish_reason", &response.finish_reason),
            ("request_id", &response.request_id),
            ("error_message", &response.error_message),
        ] {
            if let Some(value) = value {
                pointer(&format!("{at}.{name}"), value)?;
            }
        }
        let format = self.output_format(modality);
        let fits = match modality {
            Modality::Text => format == OutputFormat::Text,
            _ => format != OutputFormat::Text,
        };
        if !fits {
            return Err(invalid(
                &format!("{at}.output_format"),
                match modality {
                    Modality::Text => "a text model's output is text".to_string(),
                    _ => format!("a {modality} model's output is files: url or base64"),
                },
            ));
        }
        if modality == Modality::Text && response.output_item.is_some() {
            return Err(invalid(
                &format!("{at}.output_item"),
                "a text model's output is one string: point output at it",
            ));
        }
        if let Some(content_type) = &response.content_type {
            let parts = content_type.split_once('/');
            if modality == Modality::Text || !parts.is_some_and(|(kind, sub)| kind == "image" && !sub.is_empty()) {
                return Err(invalid(
                    &format!("{at}.content_type"),
                    "an image model's files are image/… (image/png, image/webp)",
                ));
            }
        }
        Ok(())
    }
}

fn pointer(at: &str, value: &str) -> Result<(), FieldError> {
    if is_valid_pointer(value) {
        return Ok(());
    }
    Err(invalid(
        at,
        format!(
            "`{value}` is not a JSON pointer (RFC 6901): write /choices/0/text, with ~1 for / and ~0 for ~ in a name"
        ),
    ))
}

fn names_in_request(request: &RequestTemplate) -> BTreeSet<&str> {
    let mut names = BTreeSet::new();
    collect_names(&request.path, &mut names);
    request
        .headers
        .values()
        .for_each(|value| collect_names(value, &mut names));
    if let Some(body) = &request.body {
        collect_value_names(body, &mut names);
    }
    names
}

fn collect_value_names<'a>(value: &'a Value, into: &mut BTreeSet<&'a str>) {
    match value {
        Value::String(text) => collect_names(text, into),
        Value::Array(items) => items.iter().for_each(|item| collect_value_names(item, into)),
        Value::Object(fields) => fields.values().for_each(|field| collect_value_names(field, into)),
        _ => {}
    }
}

fn collect_names<'a>(text: &'a str, into: &mut BTreeSet<&'a str>) {
    for piece in pieces(text).unwrap_or_default() {
        if let Piece::Slot(name) = piece {
            into.insert(name);
        }
    }
}

/// A header that carries a credential: its value must be `{{api_key}}`, so
/// the key is the provider's (sealed, masked), never written in the mapping.
fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "authorization"
        || ["key", "token", "secret", "auth"]
            .iter()
            .any(|word| name.contains(word))
}

/// RFC 9110 token characters, which a header name is made of.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl Checker<'_> {
    fn defaults(&self) -> Result<(), FieldError> {
        for (name, value) in self.defaults {
            let at = format!("{ROOT}.defaults.{name}");
            if !is_name(name) {
                return Err(invalid(&at, "a name is lowercase letters, digits and _"));
            }
            if name == API_KEY || name == OPERATION_ID {
                return Err(invalid(&at, format!("{{{{{name}}}}} is DE's to fill, not a default")));
            }
            if value.is_null() {
                return Err(invalid(&at, "leave a default out rather than null"));
            }
            if let Some(slot) = self.slot(name) {
                if !slot.kind.admits(value) {
                    return Err(invalid(
                        &at,
                        format!("must be {}, as a job's {name} is", slot.kind.name()),
                    ));
                }
            }
        }
        Ok(())
    }

    fn slot(&self, name: &str) -> Option<&'static Slot> {
        self.slots.iter().find(|slot| slot.name == name)
    }

    fn request(&self, request: &RequestTemplate, at: &str) -> Result<(), FieldError> {
        let path_at = format!("{at}.path");
        if !request.path.starts_with('/') || request.path.contains("://") {
            return Err(invalid(
                &path_at,
                "must start with / (it goes under the provider's base URL)",
            ));
        }
        self.text(&path_at, &request.path, Place::Path)?;
        for (name, value) in &request.headers {
            let header_at = format!("{at}.headers.{name}");
            if !is_header_name(name) {
                return Err(invalid(&header_at, "not a header name"));
            }
            if value.contains(['\r', '\n']) {
                return Err(invalid(&header_at, "a header value is one line"));
            }
            if is_credential_header(name) && !value.contains("{{") {
                return Err(invalid(
                    &header_at,
                    "write the provider's key as {{api_key}} (set it on the provider, where it is sealed and masked), not in the mapping",
                ));
            }
            self.text(&header_at, value, Place::Header)?;
        }
        if let Some(body) = &request.body {
            self.body(&format!("{at}.body"), body)?;
        }
        Ok(())
    }

    fn body(&self, at: &str, value: &Value) -> Result<(), FieldError> {
        match value {
            Value::String(text) => self.text(at, text, Place::Body),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .try_for_each(|(i, item)| self.body(&format!("{at}[{i}]"), item)),
            Value::Object(fields) => fields.iter().try_for_each(|(name, field)| {
                let field_at = format!("{at}.{name}");
                if name.contains("{{") {
                    return Err(invalid(&field_at, "placeholders go in values, not in names"));
                }
                self.body(&field_at, field)
            }),
            _ => Ok(()),
        }
    }

    /// One template string where it stands.
    fn text(&self, at: &str, text: &str, place: Place) -> Result<(), FieldError> {
        let parts = pieces(text).map_err(|message| invalid(at, message))?;
        let is_whole_value = place == Place::Body && whole(text).is_some();
        for part in parts {
            let Piece::Slot(name) = part else { continue };
            let (kind, always) = self.kind_of(at, name, place)?;
            if is_whole_value {
                continue;
            }
            if kind == Some(SlotType::Array) {
                return Err(invalid(
                    at,
                    format!(
                        "{{{{{name}}}}} is a list: only a whole body value (\"{{{{{name}}}}}\") can hold it, not text"
                    ),
                ));
            }
            if !always {
                return Err(invalid(
                    at,
                    format!(
                        "{{{{{name}}}}} has no value when a job leaves {name} out: give it one in {ROOT}.defaults, or use it as a whole body value (left out when absent)"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A placeholder's type and whether every job has a value for it.
    fn kind_of(&self, at: &str, name: &str, place: Place) -> Result<(Option<SlotType>, bool), FieldError> {
        if name == API_KEY {
            if place == Place::Body {
                return Err(invalid(
                    at,
                    "the provider's key goes in a header or the path, never in a body",
                ));
            }
            return Ok((Some(SlotType::String), true));
        }
        if name == OPERATION_ID {
            if !self.in_poll {
                return Err(invalid(
                    at,
                    "{{operation_id}} is known only to the status request (http_mapping.async.poll)",
                ));
            }
            return Ok((Some(SlotType::String), true));
        }
        if let Some(slot) = self.slot(name) {
            return Ok((Some(slot.kind), slot.always || self.defaults.contains_key(name)));
        }
        if let Some(default) = self.defaults.get(name) {
            // A list or an object is as unfit for text as a job's list.
            let kind = match default {
                Value::Array(_) | Value::Object(_) => SlotType::Array,
                _ => SlotType::String,
            };
            return Ok((Some(kind), true));
        }
        let known: Vec<&str> = self.slots.iter().map(|slot| slot.name).collect();
        Err(invalid(
            at,
            format!(
                "unknown placeholder {{{{{name}}}}}: a {} model's request can use {}, {API_KEY} (headers and path){}, or a name given in {ROOT}.defaults",
                self.modality,
                known.join(", "),
                if self.in_poll { ", operation_id" } else { "" },
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn text_mapping() -> Value {
        json!({
            "request": {
                "path": "/v1/generate",
                "headers": {"Authorization": "Token {{api_key}}"},
                "body": {
                    "model": "{{model}}",
                    "input": {"prompt": "{{prompt}}", "system": "{{system}}"},
                    "parameters": {"temperature": "{{temperature}}", "max_new_tokens": "{{max_tokens}}", "stop": "{{stop}}"}
                }
            },
            "defaults": {"temperature": 0.7},
            "response": {"output": "/output/0/text", "input_tokens": "/usage/prompt_tokens", "error_message": "/error/message"}
        })
    }

    /// One edit of the good mapping.
    type Change = fn(&mut Value);

    fn refusal(change: impl FnOnce(&mut Value), modality: Modality) -> FieldError {
        let mut mapping = text_mapping();
        change(&mut mapping);
        let mapping: HttpMapping = serde_json::from_value(mapping).expect("parses");
        mapping.validate(modality).expect_err("refused")
    }

    #[test]
    fn a_good_mapping_passes_for_sync_and_async() {
        let mapping: HttpMapping = serde_json::from_value(text_mapping()).unwrap();
        mapping.validate(Modality::Text).unwrap();
        let mut with_async = text_mapping();
        with_async["async"] = json!({
            "operation_id": "/task/id",
            "poll": {"path": "/v1/tasks/{{operation_id}}", "headers": {"Authorization": "Token {{api_key}}"}},
            "status": "/task/state",
            "done": ["succeeded"],
            "failed": ["failed"],
            "failure_reason": "/error/message"
        });
        let mapping: HttpMapping = serde_json::from_value(with_async).unwrap();
        mapping.validate(Modality::Text).unwrap();
    }

    #[test]
    fn each_problem_is_refused_at_its_spot() {
        let cases: Vec<(Change, &str, &str)> = vec![
            (
                |m| m["request"]["body"]["parameters"]["steps"] = json!("{{steps}}"),
                "http_mapping.request.body.parameters.steps",
                "unknown placeholder {{steps}}",
            ),
            (
                |m| m["response"]["output"] = json!("output.0.text"),
                "http_mapping.response.output",
                "not a JSON pointer",
            ),
            (
                |m| m["response"]["error_message"] = json!("/error/~2"),
                "http_mapping.response.error_message",
                "not a JSON pointer",
            ),
            (
                |m| m["request"]["body"]["label"] = json!("stop at {{stop}}"),
                "http_mapping.request.body.label",
                "is a list",
            ),
            (
                |m| m["request"]["path"] = json!("/v1/{{top_p}}"),
                "http_mapping.request.path",
                "has no value when a job leaves top_p out",
            ),
            (
                |m| m["request"]["body"]["key"] = json!("{{api_key}}"),
                "http_mapping.request.body.key",
                "never in a body",
            ),
            (
                |m| m["request"]["headers"]["Authorization"] = json!("Bearer sk-live-123"),
                "http_mapping.request.headers.Authorization",
                "{{api_key}}",
            ),
            (
                |m| m["defaults"]["temperature"] = json!("0.7"),
                "http_mapping.defaults.temperature",
                "must be a number",
            ),
            (
                |m| m["request"]["body"]["input"] = json!({"text": "hello"}),
                "http_mapping.request",
                "never sends the prompt",
            ),
            (
                |m| m["request"]["path"] = json!("/v1/{{operation_id}}"),
                "http_mapping.request.path",
                "only to the status request",
            ),
            (
                |m| m["request"]["body"]["x"] = json!("{{prompt"),
                "http_mapping.request.body.x",
                "never closed",
            ),
            (
                |m| {
                    m["async"] = json!({"operation_id": "/id", "poll": {"path": "/v1/tasks"}, "status": "/state", "done": ["ok"]})
                },
                "http_mapping.async.poll.path",
                "never names the operation",
            ),
            (
                |m| m["async"] = json!({"operation_id": "/id", "poll": {"path": "/t/{{operation_id}}"}, "status": "state", "done": ["ok"]}),
                "http_mapping.async.status",
                "not a JSON pointer",
            ),
            (
                |m| m["response"]["output_format"] = json!("url"),
                "http_mapping.response.output_format",
                "output is text",
            ),
        ];
        for (change, field, words) in cases {
            let error = refusal(change, Modality::Text);
            assert_eq!(error.field, field, "{error}");
            assert!(error.message.contains(words), "{field}: {}", error.message);
        }
        let error = refusal(|_| {}, Modality::Audio);
        assert_eq!(error.field, "http_mapping");
    }

    #[test]
    fn a_default_makes_a_placeholder_usable_in_text() {
        let mapping: HttpMapping = serde_json::from_value(json!({
            "request": {"path": "/v1/run?t={{temperature}}&steps={{steps}}", "body": {"p": "{{prompt}}"}},
            "defaults": {"temperature": 0.5, "steps": 30},
            "response": {"output": "/text"}
        }))
        .unwrap();
        mapping.validate(Modality::Text).unwrap();
    }

    #[test]
    fn a_job_may_ask_only_what_the_mapping_sends() {
        let mapping: HttpMapping = serde_json::from_value(text_mapping()).unwrap();
        let ok = json!({"prompt": "hi", "temperature": 0.2, "max_tokens": 9, "stop": ["x"], "system": "s"});
        mapping.check_input_fields("forge", Modality::Text, &ok).unwrap();
        let error = mapping
            .check_input_fields("forge", Modality::Text, &json!({"prompt": "hi", "top_p": 0.5}))
            .unwrap_err();
        assert_eq!(error.field, "input.top_p");
        assert!(error.message.contains("forge does not take top_p"));
        let error = mapping
            .check_input_fields(
                "forge",
                Modality::Text,
                &json!({"messages": [{"role": "user", "content": "hi"}]}),
            )
            .unwrap_err();
        assert_eq!(error.field, "input.messages");
    }
}
