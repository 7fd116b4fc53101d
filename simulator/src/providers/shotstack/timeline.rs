//! A Shotstack timeline as its Joi schema checks it: every object closed to
//! unknown keys (`"timeline.tracks[0].clips[1].duration" is not allowed`,
//! `object.unknown`), tracks of clips with an asset (`assets.rs`), a start and a
//! length, and the optional soundtrack, fonts, background and cache.

use serde_json::{Map, Value};

use super::{
    assets,
    edit::{joi, list, object},
};
use crate::providers::rejection::Rejection;

const TIMELINE_KEYS: &[&str] = &["soundtrack", "background", "fonts", "tracks", "cache"];
const TRACK_KEYS: &[&str] = &["clips"];
const CLIP_KEYS: &[&str] = &[
    "id",
    "asset",
    "start",
    "length",
    "fit",
    "scale",
    "width",
    "height",
    "position",
    "offset",
    "transition",
    "effect",
    "filter",
    "opacity",
    "transform",
    "alias",
];
const SOUNDTRACK_KEYS: &[&str] = &["src", "effect", "volume"];
const SOUNDTRACK_EFFECTS: &[&str] = &["fadeIn", "fadeOut", "fadeInFadeOut"];
const FONT_KEYS: &[&str] = &["src"];

/// Checks the timeline; returns where its last clip ends, in seconds.
pub(super) fn parse(timeline: &Map<String, Value>) -> Result<f64, Rejection> {
    known(timeline, "timeline", TIMELINE_KEYS)?;
    if let Some(soundtrack) = timeline.get("soundtrack") {
        self::soundtrack(soundtrack)?;
    }
    if timeline.get("background").is_some_and(|v| !v.is_string()) {
        return Err(joi("timeline.background", "string.base", "must be a string"));
    }
    if let Some(fonts) = timeline.get("fonts") {
        self::fonts(fonts)?;
    }
    let tracks = list(timeline, "tracks", "timeline.tracks")?;
    let mut duration = 0.0_f64;
    for (t, track) in tracks.iter().enumerate() {
        let path = format!("timeline.tracks[{t}]");
        let track = track
            .as_object()
            .ok_or_else(|| joi(&path, "object.base", "must be of type object"))?;
        known(track, &path, TRACK_KEYS)?;
        let clips = list(track, "clips", &format!("{path}.clips"))?;
        for (c, clip) in clips.iter().enumerate() {
            duration = duration.max(self::clip(clip, &format!("{path}.clips[{c}]"))?);
        }
    }
    if timeline.get("cache").is_some_and(|v| !v.is_boolean()) {
        return Err(joi("timeline.cache", "boolean.base", "must be a boolean"));
    }
    Ok(duration)
}

/// Checks one clip; returns where it ends (0 when its timing is automatic).
fn clip(clip: &Value, path: &str) -> Result<f64, Rejection> {
    let clip = clip
        .as_object()
        .ok_or_else(|| joi(path, "object.base", "must be of type object"))?;
    known(clip, path, CLIP_KEYS)?;
    let asset_path = format!("{path}.asset");
    assets::check(object(clip, "asset", &asset_path)?, &asset_path)?;
    let start = timing(clip, "start", path, &["auto"], 0.0)?;
    let length = timing(clip, "length", path, &["auto", "end"], f64::MIN_POSITIVE)?;
    Ok(start + length)
}

/// A clip's `start` or `length`: a number of at least `min`, one of `words`, or
/// `alias://name` (another clip's timing).
fn timing(clip: &Map<String, Value>, field: &str, path: &str, words: &[&str], min: f64) -> Result<f64, Rejection> {
    let path = format!("{path}.{field}");
    match clip.get(field) {
        None => Err(joi(&path, "any.required", "is required")),
        Some(Value::String(word)) if words.contains(&word.as_str()) || is_alias(word) => Ok(0.0),
        Some(value) => match value.as_f64() {
            Some(n) if n >= min => Ok(n),
            Some(_) if min > 0.0 => Err(joi(&path, "number.greater", "must be greater than 0")),
            Some(_) => Err(joi(&path, "number.min", "must be greater than or equal to 0")),
            None => Err(joi(&path, "number.base", "must be a number")),
        },
    }
}

/// The OAS's `alias://[A-Za-z0-9_-]+`.
fn is_alias(value: &str) -> bool {
    value
        .strip_prefix("alias://")
        .is_some_and(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
}

fn soundtrack(soundtrack: &Value) -> Result<(), Rejection> {
    let path = "timeline.soundtrack";
    let soundtrack = soundtrack
        .as_object()
        .ok_or_else(|| joi(path, "object.base", "must be of type object"))?;
    known(soundtrack, path, SOUNDTRACK_KEYS)?;
    match soundtrack.get("src") {
        None => return Err(joi("timeline.soundtrack.src", "any.required", "is required")),
        Some(Value::String(src)) if src.is_empty() => {
            return Err(joi(
                "timeline.soundtrack.src",
                "string.empty",
                "is not allowed to be empty",
            ))
        }
        Some(Value::String(src)) if src.trim().is_empty() => {
            return Err(joi(
                "timeline.soundtrack.src",
                "string.pattern.base",
                &format!("with value \"{src}\" fails to match the required pattern: /\\S/"),
            ))
        }
        Some(Value::String(_)) => {}
        Some(_) => return Err(joi("timeline.soundtrack.src", "string.base", "must be a string")),
    }
    match soundtrack.get("effect") {
        Some(Value::String(effect)) if SOUNDTRACK_EFFECTS.contains(&effect.as_str()) => {}
        None => {}
        Some(_) => {
            let listed = SOUNDTRACK_EFFECTS.join(", ");
            return Err(joi(
                "timeline.soundtrack.effect",
                "any.only",
                &format!("must be one of [{listed}]"),
            ));
        }
    }
    if soundtrack.get("volume").is_some_and(|v| !v.is_number()) {
        return Err(joi("timeline.soundtrack.volume", "number.base", "must be a number"));
    }
    Ok(())
}

fn fonts(fonts: &Value) -> Result<(), Rejection> {
    let fonts = fonts
        .as_array()
        .ok_or_else(|| joi("timeline.fonts", "array.base", "must be an array"))?;
    for (f, font) in fonts.iter().enumerate() {
        let path = format!("timeline.fonts[{f}]");
        let font = font
            .as_object()
            .ok_or_else(|| joi(&path, "object.base", "must be of type object"))?;
        known(font, &path, FONT_KEYS)?;
        match font.get("src") {
            None => return Err(joi(&format!("{path}.src"), "any.required", "is required")),
            Some(Value::String(_)) => {}
            Some(_) => return Err(joi(&format!("{path}.src"), "string.base", "must be a string")),
        }
    }
    Ok(())
}

/// Refuses the first key of `object` not in `allowed`.
fn known(object: &Map<String, Value>, path: &str, allowed: &[&str]) -> Result<(), Rejection> {
    match object.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(joi(&format!("{path}.{key}"), "object.unknown", "is not allowed")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn clip() -> Value {
        json!({ "asset": { "type": "title", "text": "Hi" }, "start": 0, "length": 1 })
    }

    fn refused(timeline: Value) -> Option<(String, Option<&'static str>)> {
        let timeline = timeline.as_object().cloned().unwrap_or_default();
        parse(&timeline).err().map(|r| (r.message, r.code))
    }

    #[test]
    fn unknown_keys_are_not_allowed() {
        let mut duration = clip();
        duration["duration"] = json!(5);
        assert_eq!(
            refused(json!({ "tracks": [{ "clips": [clip(), duration] }] })),
            Some((
                "\"timeline.tracks[0].clips[1].duration\" is not allowed".into(),
                Some("object.unknown")
            ))
        );
        let cases = [
            (
                json!({ "tracks": [{ "clips": [clip()], "name": "x" }] }),
                "timeline.tracks[0].name",
            ),
            (
                json!({ "tracks": [{ "clips": [clip()] }], "merge": [] }),
                "timeline.merge",
            ),
            (
                json!({ "tracks": [{ "clips": [clip()] }], "soundtrack": { "src": "a", "loop": true } }),
                "timeline.soundtrack.loop",
            ),
            (
                json!({ "tracks": [{ "clips": [clip()] }], "fonts": [{ "src": "f", "family": "x" }] }),
                "timeline.fonts[0].family",
            ),
        ];
        for (timeline, path) in cases {
            assert_eq!(
                refused(timeline.clone()),
                Some((format!("\"{path}\" is not allowed"), Some("object.unknown"))),
                "{timeline}"
            );
        }
    }

    #[test]
    fn soundtrack_fonts_and_settings_are_checked() {
        let around = |key: &str, value: Value| {
            let mut timeline = json!({ "tracks": [{ "clips": [clip()] }] });
            timeline[key] = value;
            refused(timeline).map(|r| r.0)
        };
        let says = |text: &str| Some(text.to_owned());
        assert_eq!(
            around("soundtrack", json!({ "effect": "fadeIn" })),
            says("\"timeline.soundtrack.src\" is required")
        );
        assert_eq!(
            around("soundtrack", json!({ "src": "a.mp3", "effect": "fade" })),
            says("\"timeline.soundtrack.effect\" must be one of [fadeIn, fadeOut, fadeInFadeOut]")
        );
        assert_eq!(
            around("fonts", json!([{}])),
            says("\"timeline.fonts[0].src\" is required")
        );
        assert_eq!(
            around("cache", json!("no")),
            says("\"timeline.cache\" must be a boolean")
        );
        assert_eq!(
            around("background", json!(0)),
            says("\"timeline.background\" must be a string")
        );
        assert_eq!(
            around(
                "soundtrack",
                json!({ "src": "a.mp3", "effect": "fadeOut", "volume": 0.5 })
            ),
            None
        );
    }

    #[test]
    fn aliases_are_timings() {
        let mut second = clip();
        (second["start"], second["length"]) = (json!("alias://intro"), json!("alias://intro"));
        let mut first = clip();
        first["alias"] = json!("intro");
        let timeline = json!({ "tracks": [{ "clips": [first, second] }] });
        assert_eq!(parse(timeline.as_object().expect("object")).ok(), Some(1.0));
        let mut bad = clip();
        bad["start"] = json!("alias://");
        assert!(refused(json!({ "tracks": [{ "clips": [bad] }] })).is_some_and(|r| r.1 == Some("number.base")));
    }
}
