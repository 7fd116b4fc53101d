//! Shotstack asset types and what each one must carry, from the Edit API's
//! OpenAPI document (`Asset`'s discriminator and each `*Asset` schema's
//! `required`). Shotstack refuses an edit breaking these with a 400 at submit, so
//! DE refuses it first. Styling fields (fonts, colours, effects) stay Shotstack's
//! to judge: listing every asset's keys would copy the whole schema for little gain.

use serde_json::{Map, Value};

use crate::input::FieldError;

/// What an asset of one type needs besides its `type`.
#[derive(Clone, Copy)]
enum Needs {
    /// Each of these fields, as a string.
    Fields(&'static [&'static str]),
    /// Exactly one of `src` (the file's URL) and `prompt` (media Shotstack
    /// generates): "Exactly one of `src` or `prompt` must be provided".
    SourceOrPrompt,
}

/// Every asset type of the current OAS, in its order.
const ASSETS: &[(&str, Needs)] = &[
    ("video", Needs::SourceOrPrompt),
    ("image", Needs::SourceOrPrompt),
    ("text", Needs::Fields(&["text"])),
    ("rich-text", Needs::Fields(&["text"])),
    ("audio", Needs::SourceOrPrompt),
    ("luma", Needs::Fields(&["src"])),
    ("caption", Needs::Fields(&["src"])),
    ("rich-caption", Needs::Fields(&["src"])),
    ("html", Needs::Fields(&["html"])),
    ("html5", Needs::Fields(&["html"])),
    ("title", Needs::Fields(&["text"])),
    ("shape", Needs::Fields(&["shape"])),
    ("svg", Needs::Fields(&["src"])),
    ("text-to-image", Needs::Fields(&["prompt"])),
    ("image-to-video", Needs::Fields(&["src"])),
    ("text-to-speech", Needs::Fields(&["text", "voice"])),
];
const SHAPES: &[&str] = &["rectangle", "circle", "line"];

/// Checks the asset at `field` (`input.timeline.tracks[0].clips[0].asset`).
pub(super) fn check(field: &str, asset: &Map<String, Value>) -> Result<(), FieldError> {
    let type_field = format!("{field}.type");
    let (kind, needs) = match asset.get("type") {
        None => return Err(FieldError::missing(&type_field, "type is required")),
        Some(Value::String(kind)) => match ASSETS.iter().find(|(name, _)| name == kind) {
            Some(&(name, needs)) => (name, needs),
            None => return Err(unknown_type(&type_field)),
        },
        Some(_) => return Err(unknown_type(&type_field)),
    };
    match needs {
        Needs::Fields(names) => {
            for name in names {
                if !asset.contains_key(*name) {
                    return Err(FieldError::missing(
                        &format!("{field}.{name}"),
                        format!("{name} is required for {kind} assets"),
                    ));
                }
            }
        }
        Needs::SourceOrPrompt => match (asset.contains_key("src"), asset.contains_key("prompt")) {
            (false, false) => {
                return Err(FieldError::missing(
                    &format!("{field}.src"),
                    format!("give src (the file's URL) or prompt (to generate it) for {kind} assets"),
                ))
            }
            (true, true) => {
                return Err(FieldError::invalid(
                    &format!("{field}.src"),
                    "give src or prompt, not both",
                ))
            }
            _ => {}
        },
    }
    for name in ["text", "html", "voice", "prompt"] {
        string(field, asset, name)?;
    }
    if string(field, asset, "src")?.is_some_and(|src| src.trim().is_empty()) {
        // `minLength: 1`, and `pattern: \S` for most types.
        return Err(FieldError::invalid(&format!("{field}.src"), "must be the file's URL"));
    }
    if let Some(shape) = string(field, asset, "shape")? {
        if !SHAPES.contains(&shape) {
            return Err(FieldError::invalid(
                &format!("{field}.shape"),
                format!("must be one of: {}", SHAPES.join(", ")),
            ));
        }
    }
    Ok(())
}

/// `asset[name]` if given; an error unless it is a string.
fn string<'a>(field: &str, asset: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, FieldError> {
    match asset.get(name) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(FieldError::invalid(&format!("{field}.{name}"), "must be a string")),
    }
}

fn unknown_type(field: &str) -> FieldError {
    let names: Vec<&str> = ASSETS.iter().map(|(name, _)| *name).collect();
    FieldError::invalid(field, format!("must be one of: {}", names.join(", ")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const AT: &str = "input.timeline.tracks[0].clips[0].asset";

    fn checked(asset: Value) -> Result<(), (String, &'static str)> {
        let asset = asset.as_object().cloned().unwrap_or_default();
        check(AT, &asset).map_err(|e| (e.field, e.code))
    }

    #[test]
    fn accepts_every_asset_type_with_what_it_needs() {
        let url = "https://example.com/a";
        let assets = [
            json!({"type": "video", "src": url, "volume": 0.5}),
            json!({"type": "video", "prompt": "waves"}),
            json!({"type": "image", "src": url}),
            json!({"type": "text", "text": ""}),
            json!({"type": "rich-text", "text": "Hi"}),
            json!({"type": "audio", "prompt": "Hello", "voice": "Matthew"}),
            json!({"type": "luma", "src": url}),
            json!({"type": "caption", "src": "alias://voice"}),
            json!({"type": "rich-caption", "src": url}),
            json!({"type": "html", "html": "<p>Hi</p>"}),
            json!({"type": "html5", "html": "<p>Hi</p>"}),
            json!({"type": "title", "text": "Hi", "style": "minimal"}),
            json!({"type": "shape", "shape": "circle"}),
            json!({"type": "svg", "src": "<svg/>"}),
            json!({"type": "text-to-image", "prompt": "a fox"}),
            json!({"type": "image-to-video", "src": url}),
            json!({"type": "text-to-speech", "text": "Hi", "voice": "Amy"}),
        ];
        for asset in assets {
            assert_eq!(checked(asset.clone()), Ok(()), "{asset}");
        }
        assert_eq!(ASSETS.len(), 16);
    }

    #[test]
    fn names_what_is_missing_or_wrong() {
        let missing = "missing_field";
        let invalid = "invalid_field";
        let cases = [
            (json!({}), "type", missing),
            (json!({"type": "videoo", "src": "x"}), "type", invalid),
            (json!({"type": 3}), "type", invalid),
            (json!({"type": "title"}), "text", missing),
            (json!({"type": "text"}), "text", missing),
            (json!({"type": "rich-text"}), "text", missing),
            (json!({"type": "html", "css": "p {}"}), "html", missing),
            (json!({"type": "html5"}), "html", missing),
            (json!({"type": "luma"}), "src", missing),
            (json!({"type": "caption"}), "src", missing),
            (json!({"type": "svg"}), "src", missing),
            (json!({"type": "image-to-video", "prompt": "zoom"}), "src", missing),
            (json!({"type": "shape"}), "shape", missing),
            (json!({"type": "shape", "shape": "star"}), "shape", invalid),
            (json!({"type": "text-to-image"}), "prompt", missing),
            (json!({"type": "text-to-speech", "text": "Hi"}), "voice", missing),
            (json!({"type": "video"}), "src", missing),
            (json!({"type": "image", "src": "x", "prompt": "y"}), "src", invalid),
            (json!({"type": "audio", "src": " "}), "src", invalid),
            (json!({"type": "luma", "src": ""}), "src", invalid),
            (json!({"type": "video", "src": 5}), "src", invalid),
            (json!({"type": "title", "text": ["Hi"]}), "text", invalid),
        ];
        for (asset, name, code) in cases {
            assert_eq!(checked(asset.clone()), Err((format!("{AT}.{name}"), code)), "{asset}");
        }
    }
}
