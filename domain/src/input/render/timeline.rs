//! The Shotstack timeline: tracks of clips, plus the soundtrack, fonts and
//! settings around them, checked against the Edit API's OpenAPI document. Every
//! object there is `additionalProperties: false`, so an unknown key (a clip's
//! `duration` for `length`) is a 400 at Shotstack and is refused here by name.
//! What each asset must carry is in `assets.rs`.

use serde_json::{Map, Value};

use super::assets;
use crate::input::{check_one_of, FieldError};

const MAX_TRACKS: usize = 50;
const MAX_CLIPS: usize = 500;
const TIMELINE_KEYS: &[&str] = &["tracks", "soundtrack", "background", "fonts", "cache"];
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
/// A smart clip property taking another clip's timing (`alias://intro`).
const ALIAS_PREFIX: &str = "alias://";

pub(super) fn validate(timeline: &Value) -> Result<(), FieldError> {
    let Some(timeline) = timeline.as_object() else {
        return Err(FieldError::invalid(
            "input.timeline",
            "must be an object with a tracks list",
        ));
    };
    known_keys(timeline, "input.timeline", "a timeline", TIMELINE_KEYS)?;
    let tracks = list(timeline, "input.timeline", "tracks", MAX_TRACKS)?;
    for (i, track) in tracks.iter().enumerate() {
        let field = format!("input.timeline.tracks[{i}]");
        let Some(track) = track.as_object() else {
            return Err(FieldError::invalid(&field, "must be an object with a clips list"));
        };
        known_keys(track, &field, "a track", TRACK_KEYS)?;
        let clips = list(track, &field, "clips", MAX_CLIPS)?;
        for (j, clip) in clips.iter().enumerate() {
            validate_clip(&format!("{field}.clips[{j}]"), clip)?;
        }
    }
    if let Some(soundtrack) = timeline.get("soundtrack") {
        validate_soundtrack(soundtrack)?;
    }
    if let Some(fonts) = timeline.get("fonts") {
        validate_fonts(fonts)?;
    }
    if timeline.get("cache").is_some_and(|cache| !cache.is_boolean()) {
        return Err(FieldError::invalid("input.timeline.cache", "must be true or false"));
    }
    if timeline.get("background").is_some_and(|colour| !colour.is_string()) {
        return Err(FieldError::invalid(
            "input.timeline.background",
            "must be a colour such as \"#000000\"",
        ));
    }
    Ok(())
}

/// Refuses the first key of `object` not in `allowed`, naming it.
fn known_keys(object: &Map<String, Value>, parent: &str, what: &str, allowed: &[&str]) -> Result<(), FieldError> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(key) => Err(FieldError::invalid(
            &format!("{parent}.{key}"),
            format!("is not a field of {what}; allowed: {}", allowed.join(", ")),
        )),
    }
}

/// The non-empty list `object[key]`, at most `max` long.
fn list<'a>(object: &'a Map<String, Value>, parent: &str, key: &str, max: usize) -> Result<&'a [Value], FieldError> {
    let field = format!("{parent}.{key}");
    match object.get(key) {
        None => Err(FieldError::missing(&field, format!("{key} is required"))),
        Some(Value::Array(items)) if items.is_empty() => {
            Err(FieldError::invalid(&field, "must hold at least one entry"))
        }
        Some(Value::Array(items)) if items.len() > max => {
            Err(FieldError::invalid(&field, format!("must hold at most {max} entries")))
        }
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(FieldError::invalid(&field, "must be a list")),
    }
}

fn validate_clip(field: &str, clip: &Value) -> Result<(), FieldError> {
    let Some(clip) = clip.as_object() else {
        return Err(FieldError::invalid(
            field,
            "must be an object with asset, start and length",
        ));
    };
    known_keys(clip, field, "a clip", CLIP_KEYS)?;
    let asset_field = format!("{field}.asset");
    match clip.get("asset") {
        None => return Err(FieldError::missing(&asset_field, "asset is required")),
        Some(Value::Object(asset)) => assets::check(&asset_field, asset)?,
        Some(_) => return Err(FieldError::invalid(&asset_field, "must be an object with a type")),
    }
    check_time(field, clip, "start", false, &["auto"])?;
    check_time(field, clip, "length", true, &["auto", "end"])
}

/// `clip[key]`: a number of seconds (> 0 if `positive`, else ≥ 0), one of
/// `words`, or `alias://name`.
fn check_time(
    parent: &str,
    clip: &Map<String, Value>,
    key: &str,
    positive: bool,
    words: &[&str],
) -> Result<(), FieldError> {
    let field = format!("{parent}.{key}");
    let valid = match clip.get(key) {
        None => return Err(FieldError::missing(&field, format!("{key} is required"))),
        Some(Value::Number(n)) => n
            .as_f64()
            .is_some_and(|s| s.is_finite() && (s > 0.0 || (!positive && s == 0.0))),
        Some(Value::String(s)) => words.contains(&s.as_str()) || is_alias(s),
        Some(_) => false,
    };
    if valid {
        return Ok(());
    }
    let bound = if positive { "above 0" } else { "0 or more" };
    let words = words.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(", ");
    Err(FieldError::invalid(
        &field,
        format!("must be a number of seconds {bound}, {words} or \"{ALIAS_PREFIX}<clip alias>\""),
    ))
}

/// `alias://name`, the OAS's `alias://[A-Za-z0-9_-]+`.
fn is_alias(value: &str) -> bool {
    value
        .strip_prefix(ALIAS_PREFIX)
        .is_some_and(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
}

fn validate_soundtrack(soundtrack: &Value) -> Result<(), FieldError> {
    let field = "input.timeline.soundtrack";
    let Some(soundtrack) = soundtrack.as_object() else {
        return Err(FieldError::invalid(field, "must be an object with a src"));
    };
    known_keys(soundtrack, field, "a soundtrack", SOUNDTRACK_KEYS)?;
    match soundtrack.get("src") {
        None => return Err(FieldError::missing(&format!("{field}.src"), "src is required")),
        Some(Value::String(src)) if !src.trim().is_empty() => {}
        Some(_) => return Err(FieldError::invalid(&format!("{field}.src"), "must be the mp3's URL")),
    }
    match soundtrack.get("effect") {
        None => {}
        Some(Value::String(effect)) => {
            check_one_of(&format!("{field}.effect"), &effect.as_str(), SOUNDTRACK_EFFECTS, "")?
        }
        Some(_) => {
            let effects = SOUNDTRACK_EFFECTS.join(", ");
            return Err(FieldError::invalid(
                &format!("{field}.effect"),
                format!("must be one of: {effects}"),
            ));
        }
    }
    if soundtrack.get("volume").is_some_and(|volume| !volume.is_number()) {
        return Err(FieldError::invalid(&format!("{field}.volume"), "must be a number"));
    }
    Ok(())
}

fn validate_fonts(fonts: &Value) -> Result<(), FieldError> {
    let Some(fonts) = fonts.as_array() else {
        return Err(FieldError::invalid("input.timeline.fonts", "must be a list"));
    };
    for (i, font) in fonts.iter().enumerate() {
        let field = format!("input.timeline.fonts[{i}]");
        let Some(font) = font.as_object() else {
            return Err(FieldError::invalid(&field, "must be an object with a src"));
        };
        known_keys(font, &field, "a font", FONT_KEYS)?;
        match font.get("src") {
            None => return Err(FieldError::missing(&format!("{field}.src"), "src is required")),
            Some(Value::String(_)) => {}
            Some(_) => return Err(FieldError::invalid(&format!("{field}.src"), "must be the font's URL")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const C0: &str = "input.timeline.tracks[0].clips[0]";

    fn clip(start: Value, length: Value) -> Value {
        json!({"asset": {"type": "video", "src": "https://example.com/a.mp4"}, "start": start, "length": length})
    }

    fn refused(timeline: Value) -> (String, &'static str) {
        let err = validate(&timeline).expect_err("invalid");
        (err.field, err.code)
    }

    fn with_clips(clips: Vec<Value>) -> Value {
        json!({"tracks": [{"clips": clips}]})
    }

    #[test]
    fn accepts_smart_clip_timings() {
        let clips = vec![
            json!({"asset": {"type": "title", "text": "Hi"}, "start": 0, "length": 2, "alias": "intro"}),
            clip(json!("alias://intro"), json!("alias://intro")),
            clip(json!("auto"), json!("end")),
            clip(json!(2.5), json!("auto")),
        ];
        validate(&with_clips(clips)).expect("valid");
    }

    #[test]
    fn names_unknown_keys() {
        let mut duration = clip(json!(0), json!(1));
        duration["duration"] = json!(5);
        let cases = [
            (
                with_clips(vec![clip(json!(0), json!(1)), duration]),
                "input.timeline.tracks[0].clips[1].duration",
            ),
            (
                json!({"tracks": [{"clips": [clip(json!(0), json!(1))], "name": "main"}]}),
                "input.timeline.tracks[0].name",
            ),
            (
                json!({"tracks": [{"clips": [clip(json!(0), json!(1))]}], "merge": []}),
                "input.timeline.merge",
            ),
            (
                json!({"tracks": [{"clips": [clip(json!(0), json!(1))]}], "soundtrack": {"src": "a.mp3", "loop": true}}),
                "input.timeline.soundtrack.loop",
            ),
            (
                json!({"tracks": [{"clips": [clip(json!(0), json!(1))]}], "fonts": [{"src": "f.ttf", "family": "x"}]}),
                "input.timeline.fonts[0].family",
            ),
        ];
        for (timeline, field) in cases {
            assert_eq!(refused(timeline.clone()), (field.into(), "invalid_field"), "{timeline}");
        }
    }

    #[test]
    fn checks_the_soundtrack_fonts_and_settings() {
        let around = |key: &str, value: Value| {
            let mut timeline = with_clips(vec![clip(json!(0), json!(1))]);
            timeline[key] = value;
            timeline
        };
        let t = "input.timeline";
        let cases = [
            (
                around("soundtrack", json!({"effect": "fadeIn"})),
                format!("{t}.soundtrack.src"),
                "missing_field",
            ),
            (
                around("soundtrack", json!({"src": " "})),
                format!("{t}.soundtrack.src"),
                "invalid_field",
            ),
            (
                around("soundtrack", json!({"src": "a.mp3", "effect": "fade"})),
                format!("{t}.soundtrack.effect"),
                "invalid_field",
            ),
            (
                around("soundtrack", json!({"src": "a.mp3", "volume": "loud"})),
                format!("{t}.soundtrack.volume"),
                "invalid_field",
            ),
            (
                around("soundtrack", json!("a.mp3")),
                format!("{t}.soundtrack"),
                "invalid_field",
            ),
            (
                around("fonts", json!([{}])),
                format!("{t}.fonts[0].src"),
                "missing_field",
            ),
            (
                around("fonts", json!({"src": "f.ttf"})),
                format!("{t}.fonts"),
                "invalid_field",
            ),
            (
                around("fonts", json!(["f.ttf"])),
                format!("{t}.fonts[0]"),
                "invalid_field",
            ),
            (around("cache", json!("no")), format!("{t}.cache"), "invalid_field"),
            (
                around("background", json!(0)),
                format!("{t}.background"),
                "invalid_field",
            ),
        ];
        for (timeline, field, code) in cases {
            assert_eq!(refused(timeline.clone()), (field, code), "{timeline}");
        }
    }

    #[test]
    fn checks_clip_timings() {
        let cases = [
            (clip(json!(-1), json!(1)), "start"),
            (clip(json!("end"), json!(1)), "start"),
            (clip(json!("alias://"), json!(1)), "start"),
            (clip(json!("alias://a b"), json!(1)), "start"),
            (clip(json!(0), json!(0)), "length"),
            (clip(json!(0), json!("later")), "length"),
            (clip(json!(0), json!("alias:/intro")), "length"),
        ];
        for (clip, key) in cases {
            assert_eq!(
                refused(with_clips(vec![clip.clone()])),
                (format!("{C0}.{key}"), "invalid_field"),
                "{clip}"
            );
        }
    }
}
