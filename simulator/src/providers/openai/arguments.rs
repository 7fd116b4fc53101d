//! How OpenAI checks and words request arguments, shared by its endpoints:
//! `Unrecognized request argument supplied: x`, `Invalid type for 'n': expected
//! an integer, but got a string instead.`, with `param` and `code`. Optional
//! arguments may be `null`, as in the real API.

use serde_json::{Map, Value};

use crate::providers::rejection::Rejection;

/// Refuses any top-level argument not in `known`, naming them all.
pub fn known_only(body: &Map<String, Value>, known: &[&str]) -> Result<(), Rejection> {
    let unknown: Vec<&str> = body.keys().map(String::as_str).filter(|k| !known.contains(k)).collect();
    match unknown.as_slice() {
        [] => Ok(()),
        [one] => Err(Rejection::bad_request(format!(
            "Unrecognized request argument supplied: {one}"
        ))),
        many => Err(Rejection::bad_request(format!(
            "Unrecognized request arguments supplied: {}",
            many.join(", ")
        ))),
    }
}

/// An optional string argument that must be one of `allowed`, worded as the
/// Images API words it (`'x' is not one of ['a', 'b'] - 'size'`).
pub fn one_of<'v>(body: &'v Map<String, Value>, field: &str, allowed: &[&str]) -> Result<Option<&'v str>, Rejection> {
    match present(body, field) {
        None => Ok(None),
        Some(Value::String(value)) if allowed.contains(&value.as_str()) => Ok(Some(value)),
        Some(Value::String(value)) => {
            let listed = allowed.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ");
            Err(Rejection::bad_request(format!("'{value}' is not one of [{listed}] - '{field}'")).param(field))
        }
        Some(other) => Err(invalid_type(field, "a string", other)),
    }
}

/// An optional integer argument within `min..=max`.
pub fn integer(body: &Map<String, Value>, field: &str, min: u64, max: Option<u64>) -> Result<Option<u64>, Rejection> {
    let Some(value) = present(body, field) else {
        return Ok(None);
    };
    let bound = |which: &str, code, relation, limit: u64| {
        Rejection::bad_request(format!(
            "Invalid '{field}': integer {which} value. Expected a value {relation} {limit}, but got {value} instead."
        ))
        .param(field)
        .code(code)
    };
    match (value.as_u64(), value.as_i64()) {
        (Some(n), _) if n < min => Err(bound("below minimum", "integer_below_min_value", ">=", min)),
        (Some(n), _) => match max {
            Some(max) if n > max => Err(bound("above maximum", "integer_above_max_value", "<=", max)),
            _ => Ok(Some(n)),
        },
        (None, Some(_)) => Err(bound("below minimum", "integer_below_min_value", ">=", min)),
        (None, None) => Err(invalid_type(field, "an integer", value)),
    }
}

/// An optional number argument within `min..=max`.
pub fn decimal(body: &Map<String, Value>, field: &str, min: f64, max: f64) -> Result<(), Rejection> {
    let Some(value) = present(body, field) else {
        return Ok(());
    };
    let Some(number) = value.as_f64() else {
        return Err(invalid_type(field, "a decimal", value));
    };
    let (which, code, relation, limit) = if number < min {
        ("below minimum", "decimal_below_min_value", ">=", min)
    } else if number > max {
        ("above maximum", "decimal_above_max_value", "<=", max)
    } else {
        return Ok(());
    };
    Err(Rejection::bad_request(format!(
        "Invalid '{field}': decimal {which} value. Expected a value {relation} {limit}, but got {value} instead."
    ))
    .param(field)
    .code(code))
}

/// The field's value, treating `null` as absent like the real API does.
pub fn present<'v>(object: &'v Map<String, Value>, field: &str) -> Option<&'v Value> {
    object.get(field).filter(|value| !value.is_null())
}

pub fn missing(param: &str) -> Rejection {
    Rejection::bad_request(format!("Missing required parameter: '{param}'."))
        .param(param)
        .code("missing_required_parameter")
}

pub fn invalid_type(param: &str, expected: &str, got: &Value) -> Rejection {
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    Rejection::bad_request(format!(
        "Invalid type for '{param}': expected {expected}, but got {got} instead."
    ))
    .param(param)
    .code("invalid_type")
}
