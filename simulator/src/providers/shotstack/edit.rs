//! What Shotstack accepts as an edit, checked the way its Joi schema does and
//! worded as Joi words it (`"timeline.tracks[0].clips" must contain at least 1
//! items`), with the offending path as the rejection's `param` and the Joi
//! error type (`array.min`) as its `code`. The timeline is in `timeline.rs`,
//! its assets in `assets.rs`; the output is here.

use serde_json::{Map, Value};

use super::timeline;
use crate::{media::Media, providers::rejection::Rejection};

const FORMATS: &[&str] = &["mp4", "gif", "jpg", "png", "bmp", "mp3"];
/// Each output resolution and its 16:9 frame size.
const RESOLUTIONS: &[(&str, u32, u32)] = &[
    ("preview", 512, 288),
    ("mobile", 640, 360),
    ("sd", 1024, 576),
    ("hd", 1280, 720),
    ("1080", 1920, 1080),
    ("4k", 3840, 2160),
];

/// A valid edit, reduced to what the render produces.
#[derive(Debug, PartialEq)]
pub struct Edit {
    pub output: Media,
    /// Where the last clip ends, in seconds.
    pub duration: f64,
}

impl Edit {
    pub fn parse(body: Option<&Value>) -> Result<Self, Rejection> {
        let Some(body) = body.and_then(Value::as_object) else {
            return Err(joi("value", "object.base", "must be of type object"));
        };
        let duration = timeline::parse(object(body, "timeline", "timeline")?)?;
        let output = object(body, "output", "output")?;
        let format = match output.get("format") {
            None => return Err(joi("output.format", "any.required", "is required")),
            Some(Value::String(format)) if FORMATS.contains(&format.as_str()) => format.as_str(),
            Some(_) => {
                let listed = FORMATS.join(", ");
                return Err(joi("output.format", "any.only", &format!("must be one of [{listed}]")));
            }
        };
        let (width, height) = match output.get("resolution") {
            None => (1024, 576),
            Some(Value::String(resolution)) => match RESOLUTIONS.iter().find(|r| r.0 == resolution) {
                Some(&(_, width, height)) => (width, height),
                None => return Err(resolution_error()),
            },
            Some(_) => return Err(resolution_error()),
        };
        let output = match format {
            "mp4" => Media::Mp4,
            "mp3" => Media::Mp3,
            "jpg" => Media::Jpeg,
            "png" => Media::Png { width, height },
            other => {
                return Err(
                    Rejection::bad_request(format!("The provider simulator does not render {other} output."))
                        .param("output.format")
                        .code("any.invalid"),
                )
            }
        };
        Ok(Self { output, duration })
    }
}

pub(super) fn object<'v>(
    parent: &'v Map<String, Value>,
    field: &str,
    path: &str,
) -> Result<&'v Map<String, Value>, Rejection> {
    match parent.get(field) {
        Some(Value::Object(object)) => Ok(object),
        None => Err(joi(path, "any.required", "is required")),
        Some(_) => Err(joi(path, "object.base", "must be of type object")),
    }
}

pub(super) fn list<'v>(parent: &'v Map<String, Value>, field: &str, path: &str) -> Result<&'v [Value], Rejection> {
    match parent.get(field) {
        Some(Value::Array(list)) if !list.is_empty() => Ok(list),
        Some(Value::Array(_)) => Err(joi(path, "array.min", "must contain at least 1 items")),
        None => Err(joi(path, "any.required", "is required")),
        Some(_) => Err(joi(path, "array.base", "must be an array")),
    }
}

fn resolution_error() -> Rejection {
    let listed: Vec<&str> = RESOLUTIONS.iter().map(|r| r.0).collect();
    joi(
        "output.resolution",
        "any.only",
        &format!("must be one of [{}]", listed.join(", ")),
    )
}

pub(super) fn joi(path: &str, kind: &'static str, says: &str) -> Rejection {
    Rejection::bad_request(format!("\"{path}\" {says}"))
        .param(path)
        .code(kind)
}

/// `timeline.tracks[0].clips` as Joi's path array, `["timeline", "tracks", 0, "clips"]`.
pub fn path_array(path: &str) -> Vec<Value> {
    path.split(['.', '['])
        .filter(|part| !part.is_empty())
        .map(|part| match part.strip_suffix(']').map(str::parse::<u64>) {
            Some(Ok(index)) => Value::from(index),
            _ => Value::from(part),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn edit(clips: Value, output: Value) -> Value {
        json!({ "timeline": { "tracks": [{ "clips": clips }] }, "output": output })
    }

    #[test]
    fn a_valid_edit_renders_its_output() {
        let clips = json!([
            { "asset": { "type": "video", "src": "https://example.com/a.mp4" }, "start": 0, "length": 4.5 },
            { "asset": { "type": "title", "text": "Hi" }, "start": 4.5, "length": 2 },
            { "asset": { "type": "audio", "src": "https://example.com/a.mp3" }, "start": "auto", "length": "end" },
        ]);
        let parsed = Edit::parse(Some(&edit(
            clips.clone(),
            json!({ "format": "mp4", "resolution": "sd" }),
        )));
        assert_eq!(
            parsed.ok(),
            Some(Edit {
                output: Media::Mp4,
                duration: 6.5
            })
        );
        let png = Edit::parse(Some(&edit(clips, json!({ "format": "png", "resolution": "hd" })))).map(|e| e.output);
        assert_eq!(
            png.ok(),
            Some(Media::Png {
                width: 1280,
                height: 720
            })
        );
    }

    #[test]
    fn errors_name_the_path_as_joi_does() {
        let refused = |body: Value| Edit::parse(Some(&body)).err().map(|r| (r.message, r.param, r.code));
        assert_eq!(
            refused(json!({ "output": { "format": "mp4" } })),
            Some((
                "\"timeline\" is required".into(),
                Some("timeline".into()),
                Some("any.required")
            ))
        );
        let clip = json!({ "asset": { "type": "video", "src": "https://example.com/a.mp4" }, "start": 0, "length": 1 });
        assert_eq!(
            refused(edit(json!([]), json!({ "format": "mp4" }))).map(|r| r.0),
            Some("\"timeline.tracks[0].clips\" must contain at least 1 items".into())
        );
        let mut bad = clip.clone();
        bad["length"] = json!(0);
        assert_eq!(
            refused(edit(json!([clip.clone(), bad]), json!({ "format": "mp4" }))).map(|r| r.0),
            Some("\"timeline.tracks[0].clips[1].length\" must be greater than 0".into())
        );
        assert!(refused(edit(json!([clip.clone()]), json!({ "format": "avi" })))
            .is_some_and(|r| r.0.starts_with("\"output.format\" must be one of")));
        assert!(refused(edit(json!([clip]), json!({}))).is_some_and(|r| r.0 == "\"output.format\" is required"));
    }

    #[test]
    fn paths_become_arrays() {
        assert_eq!(
            path_array("timeline.tracks[0].clips[12].start"),
            vec![
                json!("timeline"),
                json!("tracks"),
                json!(0),
                json!("clips"),
                json!(12),
                json!("start")
            ]
        );
    }
}
