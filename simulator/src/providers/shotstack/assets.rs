//! Shotstack's asset types and the fields each one requires, from the Edit
//! API's OpenAPI document (the `Asset` discriminator and each `*Asset` schema),
//! refused the way its Joi schema words it (`"….asset.text" is required`,
//! `any.required`). Optional asset fields are not checked.

use serde_json::{Map, Value};

use super::edit::joi;
use crate::providers::rejection::Rejection;

/// Each asset type and the string fields it requires; `None` for the types
/// that take exactly one of `src` and `prompt`.
const ASSETS: &[(&str, Option<&[&str]>)] = &[
    ("video", None),
    ("image", None),
    ("text", Some(&["text"])),
    ("rich-text", Some(&["text"])),
    ("audio", None),
    ("luma", Some(&["src"])),
    ("caption", Some(&["src"])),
    ("rich-caption", Some(&["src"])),
    ("html", Some(&["html"])),
    ("html5", Some(&["html"])),
    ("title", Some(&["text"])),
    ("shape", Some(&["shape"])),
    ("svg", Some(&["src"])),
    ("text-to-image", Some(&["prompt"])),
    ("image-to-video", Some(&["src"])),
    ("text-to-speech", Some(&["text", "voice"])),
];
/// Types whose `src` has `pattern: \S` besides `minLength: 1`.
const VISIBLE_SRC: &[&str] = &["video", "image", "audio", "luma", "caption"];
const STRINGS: &[&str] = &["src", "prompt", "text", "html", "voice", "shape"];
const SHAPES: &[&str] = &["rectangle", "circle", "line"];

/// Checks the asset at `path` (`timeline.tracks[0].clips[0].asset`).
pub(super) fn check(asset: &Map<String, Value>, path: &str) -> Result<(), Rejection> {
    let type_path = format!("{path}.type");
    let kind = match asset.get("type") {
        None => return Err(joi(&type_path, "any.required", "is required")),
        Some(Value::String(kind)) => kind.as_str(),
        Some(_) => return Err(joi(&type_path, "string.base", "must be a string")),
    };
    let Some(&(_, required)) = ASSETS.iter().find(|(name, _)| *name == kind) else {
        let listed: Vec<&str> = ASSETS.iter().map(|(name, _)| *name).collect();
        return Err(joi(
            &type_path,
            "any.only",
            &format!("must be one of [{}]", listed.join(", ")),
        ));
    };
    match required {
        Some(fields) => {
            if let Some(field) = fields.iter().find(|field| !asset.contains_key(**field)) {
                return Err(joi(&format!("{path}.{field}"), "any.required", "is required"));
            }
        }
        None => match (asset.contains_key("src"), asset.contains_key("prompt")) {
            (false, false) => {
                return Err(joi(
                    path,
                    "object.missing",
                    "must contain at least one of [src, prompt]",
                ))
            }
            (true, true) => {
                return Err(joi(
                    path,
                    "object.xor",
                    "contains a conflict between exclusive peers [src, prompt]",
                ))
            }
            _ => {}
        },
    }
    for field in STRINGS {
        if asset.get(*field).is_some_and(|value| !value.is_string()) {
            return Err(joi(&format!("{path}.{field}"), "string.base", "must be a string"));
        }
    }
    match asset.get("src").and_then(Value::as_str) {
        Some("") => {
            return Err(joi(
                &format!("{path}.src"),
                "string.empty",
                "is not allowed to be empty",
            ))
        }
        Some(src) if src.trim().is_empty() && VISIBLE_SRC.contains(&kind) => {
            return Err(joi(
                &format!("{path}.src"),
                "string.pattern.base",
                &format!("with value \"{src}\" fails to match the required pattern: /\\S/"),
            ))
        }
        _ => {}
    }
    match asset.get("shape").and_then(Value::as_str) {
        Some(shape) if !SHAPES.contains(&shape) => Err(joi(
            &format!("{path}.shape"),
            "any.only",
            &format!("must be one of [{}]", SHAPES.join(", ")),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refused(asset: Value) -> Option<(String, Option<String>, Option<&'static str>)> {
        let asset = asset.as_object().cloned().unwrap_or_default();
        check(&asset, "a").err().map(|r| (r.message, r.param, r.code))
    }

    #[test]
    fn each_type_needs_its_fields() {
        let required = |field: &str| {
            Some((
                format!("\"a.{field}\" is required"),
                Some(format!("a.{field}")),
                Some("any.required"),
            ))
        };
        assert_eq!(refused(json!({ "type": "title" })), required("text"));
        assert_eq!(refused(json!({ "type": "html", "css": "p {}" })), required("html"));
        assert_eq!(refused(json!({ "type": "luma" })), required("src"));
        assert_eq!(
            refused(json!({ "type": "text-to-speech", "text": "hi" })),
            required("voice")
        );
        assert_eq!(
            refused(json!({ "type": "video" })).map(|r| (r.0, r.2)),
            Some((
                "\"a\" must contain at least one of [src, prompt]".into(),
                Some("object.missing")
            ))
        );
        assert_eq!(
            refused(json!({ "type": "image", "src": "x", "prompt": "y" })).and_then(|r| r.2),
            Some("object.xor")
        );
        for asset in [
            json!({ "type": "video", "prompt": "waves" }),
            json!({ "type": "title", "text": "" }),
            json!({ "type": "svg", "src": " " }),
            json!({ "type": "shape", "shape": "line" }),
        ] {
            assert_eq!(refused(asset.clone()), None, "{asset}");
        }
    }

    #[test]
    fn values_are_checked() {
        let code = |asset| refused(asset).and_then(|r| r.2);
        assert!(
            refused(json!({ "type": "videoo", "src": "x" })).is_some_and(|r| r.0.starts_with(
                "\"a.type\" must be one of [video, image, text, rich-text, audio, luma, caption, rich-caption, html"
            ))
        );
        assert_eq!(code(json!({ "type": "audio", "src": "" })), Some("string.empty"));
        assert_eq!(
            code(json!({ "type": "audio", "src": " " })),
            Some("string.pattern.base")
        );
        assert_eq!(code(json!({ "type": "title", "text": 3 })), Some("string.base"));
        assert_eq!(code(json!({ "type": "shape", "shape": "star" })), Some("any.only"));
    }
}
