//! Filling a request template with one call's values: the exact request the
//! worker sends, and the dry run shows (with the key masked).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{
    template::{pieces, whole, Piece},
    HttpMethod, RequestTemplate, Values,
};

/// Everything but RFC 3986's unreserved characters is escaped in a value put
/// into the path or query, so a prompt cannot add a path segment or a parameter.
const IN_URL: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// One request, filled in.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RenderedRequest {
    pub method: HttpMethod,
    /// Under the provider's base URL.
    pub path: String,
    /// In the template's order, `content-type` added for a JSON body.
    pub headers: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// A placeholder with no value where one is needed; the mapping was checked
/// when saved, so this is a value the check could not foresee.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("{at}: {{{{{name}}}}} has no value for this job")]
pub struct MissingValue {
    pub at: String,
    pub name: String,
}

impl RequestTemplate {
    pub fn method(&self) -> HttpMethod {
        self.method.unwrap_or(match self.body {
            Some(_) => HttpMethod::Post,
            None => HttpMethod::Get,
        })
    }

    pub fn render(&self, values: &Values) -> Result<RenderedRequest, MissingValue> {
        let path = interpolate(&self.path, values, "path", |text| {
            utf8_percent_encode(text, IN_URL).to_string()
        })?;
        let mut headers = Vec::with_capacity(self.headers.len() + 1);
        for (name, template) in &self.headers {
            let value = interpolate(template, values, &format!("headers.{name}"), str::to_owned)?;
            headers.push((name.clone(), value));
        }
        let body = self
            .body
            .as_ref()
            .map(|template| fill(template, values).unwrap_or(Value::Null));
        if body.is_some()
            && !headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        {
            headers.push(("content-type".into(), "application/json".into()));
        }
        Ok(RenderedRequest {
            method: self.method(),
            path,
            headers,
            body,
        })
    }
}

/// A body value filled in; `None` for a placeholder with no value, which is
/// then left out of its object or list rather than sent as `null`.
fn fill(template: &Value, values: &Values) -> Option<Value> {
    match template {
        Value::String(text) => match whole(text) {
            Some(name) => values.get(name).cloned(),
            None => Some(Value::String(
                interpolate(text, values, "", str::to_owned).unwrap_or_else(|_| text.clone()),
            )),
        },
        Value::Array(items) => Some(Value::Array(
            items.iter().filter_map(|item| fill(item, values)).collect(),
        )),
        Value::Object(fields) => Some(Value::Object(
            fields
                .iter()
                .filter_map(|(name, value)| Some((name.clone(), fill(value, values)?)))
                .collect::<Map<_, _>>(),
        )),
        literal => Some(literal.clone()),
    }
}

/// A template string with each placeholder written in as text (`escape`d).
fn interpolate(
    template: &str,
    values: &Values,
    at: &str,
    escape: impl Fn(&str) -> String,
) -> Result<String, MissingValue> {
    let Ok(parts) = pieces(template) else {
        return Ok(template.to_string());
    };
    let mut text = String::with_capacity(template.len());
    for part in parts {
        match part {
            Piece::Text(literal) => text.push_str(literal),
            Piece::Slot(name) => {
                let value = values.get(name).ok_or_else(|| MissingValue {
                    at: at.to_string(),
                    name: name.to_string(),
                })?;
                match value {
                    Value::String(s) => text.push_str(&escape(s)),
                    other => text.push_str(&escape(&other.to_string())),
                }
            }
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn values() -> Values {
        Values::default()
            .with("model", "forge-1")
            .with("prompt", "a b/c?d")
            .with("api_key", "sk-1234")
    }

    #[test]
    fn keeps_types_and_leaves_out_what_has_no_value() {
        let template: RequestTemplate = serde_json::from_value(json!({
            "path": "/v1/{{model}}/run?q={{prompt}}",
            "headers": {"Authorization": "Token {{api_key}}"},
            "body": {
                "prompt": "{{prompt}}",
                "label": "model {{model}}",
                "temperature": "{{temperature}}",
                "n": "{{n}}",
                "stop": "{{stop}}",
                "top_p": "{{top_p}}",
                "list": ["{{prompt}}", "{{seed}}", 3],
                "fixed": {"n": 1, "on": true}
            }
        }))
        .unwrap();
        let values = values()
            .with("temperature", 0.25)
            .with("n", 2)
            .with("stop", json!(["\n"]));
        let rendered = template.render(&values).unwrap();
        assert_eq!(rendered.method, HttpMethod::Post);
        assert_eq!(rendered.path, "/v1/forge-1/run?q=a%20b%2Fc%3Fd");
        assert_eq!(
            rendered.headers,
            vec![
                ("Authorization".to_string(), "Token sk-1234".to_string()),
                ("content-type".to_string(), "application/json".to_string())
            ]
        );
        assert_eq!(
            rendered.body,
            Some(json!({
                "prompt": "a b/c?d",
                "label": "model forge-1",
                "temperature": 0.25,
                "n": 2,
                "stop": ["\n"],
                "list": ["a b/c?d", 3],
                "fixed": {"n": 1, "on": true}
            }))
        );
    }

    #[test]
    fn a_header_without_its_value_is_not_sent_half_filled() {
        let template: RequestTemplate =
            serde_json::from_value(json!({"path": "/x", "headers": {"X-Seed": "{{seed}}"}})).unwrap();
        let error = template.render(&values()).unwrap_err();
        assert_eq!(error.name, "seed");
        assert_eq!(error.at, "headers.X-Seed");
    }
}
