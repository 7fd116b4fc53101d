//! Video-render input (Shotstack): a timeline of tracks and clips plus output
//! settings. The timeline passes through to Shotstack as JSON, but what its
//! schema requires (tracks, clips and their keys, asset types and their required
//! fields, timings, soundtrack, fonts) is checked here (`timeline.rs`,
//! `assets.rs`), so an edit Shotstack would refuse is refused at submission
//! rather than failing later at the provider. Asset styling (fonts, colours,
//! effects) is Shotstack's to judge.

mod assets;
mod timeline;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{check_one_of, deserialize, FieldError};

const DEFAULT_FORMAT: &str = "mp4";
const DEFAULT_RESOLUTION: &str = "sd";
const FORMATS: &[&str] = &["mp4", "gif", "mp3", "jpg", "png", "bmp"];
const RESOLUTIONS: &[&str] = &["preview", "mobile", "sd", "hd", "1080", "4k"];
const FPS: &[f64] = &[12.0, 15.0, 23.976, 24.0, 25.0, 29.97, 30.0, 48.0, 50.0, 59.94, 60.0];
const ASPECT_RATIOS: &[&str] = &["16:9", "9:16", "1:1", "4:5", "4:3"];

/// Input of a video-render job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderInput {
    /// A Shotstack timeline, checked by [`RenderInput::parse`].
    pub timeline: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<RenderOutput>,
    /// Generate the output again (a new, billed attempt) if the provider no
    /// longer has it when it is copied, rather than fail `output_unavailable`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub regenerate_if_unavailable: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderOutput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
}

impl RenderInput {
    pub fn parse(value: &Value) -> Result<Self, FieldError> {
        let input: RenderInput = deserialize(value)?;
        timeline::validate(&input.timeline)?;
        if let Some(output) = &input.output {
            output.validate()?;
        }
        Ok(input)
    }

    /// Output format, `mp4` unless the client chose one.
    pub fn format(&self) -> &str {
        self.output
            .as_ref()
            .and_then(|o| o.format.as_deref())
            .unwrap_or(DEFAULT_FORMAT)
    }

    /// Output resolution, `sd` unless the client chose one.
    pub fn resolution(&self) -> &str {
        self.output
            .as_ref()
            .and_then(|o| o.resolution.as_deref())
            .unwrap_or(DEFAULT_RESOLUTION)
    }

    /// The body of a Shotstack render request.
    pub fn to_shotstack(&self) -> Value {
        let mut output = Map::new();
        output.insert("format".into(), self.format().into());
        output.insert("resolution".into(), self.resolution().into());
        if let Some(out) = &self.output {
            if let Some(fps) = out.fps {
                output.insert("fps".into(), fps.into());
            }
            if let Some(ratio) = &out.aspect_ratio {
                output.insert("aspectRatio".into(), ratio.as_str().into());
            }
        }
        json!({"timeline": self.timeline, "output": output})
    }
}

impl RenderOutput {
    fn validate(&self) -> Result<(), FieldError> {
        if let Some(format) = &self.format {
            check_one_of("input.output.format", &format.as_str(), FORMATS, "")?;
        }
        if let Some(resolution) = &self.resolution {
            check_one_of("input.output.resolution", &resolution.as_str(), RESOLUTIONS, "")?;
        }
        if let Some(fps) = &self.fps {
            check_one_of("input.output.fps", fps, FPS, "")?;
        }
        if let Some(ratio) = &self.aspect_ratio {
            check_one_of("input.output.aspect_ratio", &ratio.as_str(), ASPECT_RATIOS, "")?;
        }
        Ok(())
    }
}

/// Content type and file extension of a Shotstack output format.
pub fn render_format_media(format: &str) -> (&'static str, &'static str) {
    match format {
        "gif" => ("image/gif", "gif"),
        "mp3" => ("audio/mpeg", "mp3"),
        "jpg" => ("image/jpeg", "jpg"),
        "png" => ("image/png", "png"),
        "bmp" => ("image/bmp", "bmp"),
        _ => ("video/mp4", "mp4"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn clip(start: Value, length: Value) -> Value {
        json!({"asset": {"type": "video", "src": "https://example.com/a.mp4"}, "start": start, "length": length})
    }

    fn edit(clips: Vec<Value>) -> Value {
        json!({"timeline": {"tracks": [{"clips": clips}]}})
    }

    #[test]
    fn accepts_a_timeline() {
        let value = json!({
            "timeline": {
                "background": "#000000",
                "soundtrack": {"src": "https://example.com/a.mp3", "effect": "fadeOut"},
                "fonts": [{"src": "https://example.com/f.ttf"}],
                "cache": false,
                "tracks": [
                    {"clips": [clip(json!(0), json!(5)), clip(json!("auto"), json!("auto"))]},
                    {"clips": [clip(json!(2.5), json!("end"))]},
                ],
            },
            "output": {"format": "gif", "resolution": "1080", "fps": 23.976, "aspect_ratio": "9:16"},
        });
        let input = RenderInput::parse(&value).expect("valid");
        assert_eq!((input.format(), input.resolution()), ("gif", "1080"));
        assert_eq!(serde_json::to_value(&input).ok(), Some(value));
    }

    #[test]
    fn builds_the_shotstack_request() {
        let value = edit(vec![clip(json!(0), json!(1))]);
        let input = RenderInput::parse(&value).expect("valid");
        assert_eq!((input.format(), input.resolution()), ("mp4", "sd"));
        assert_eq!(
            input.to_shotstack(),
            json!({"timeline": value["timeline"], "output": {"format": "mp4", "resolution": "sd"}})
        );
        let mut value = value;
        value["output"] = json!({"fps": 30, "aspect_ratio": "1:1"});
        let input = RenderInput::parse(&value).expect("valid");
        assert_eq!(
            input.to_shotstack()["output"],
            json!({"format": "mp4", "resolution": "sd", "fps": 30.0, "aspectRatio": "1:1"})
        );
    }

    #[test]
    fn names_the_bad_field() {
        let clips = |n| vec![clip(json!(0), json!(1)); n];
        let tracks = |n| json!({"timeline": {"tracks": vec![json!({"clips": clips(1)}); n]}});
        let c0 = "input.timeline.tracks[0].clips[0]";
        let cases = [
            (json!({}), "input.timeline".to_string(), "missing_field"),
            (json!({"timeline": []}), "input.timeline".into(), "invalid_field"),
            (json!({"timeline": {}}), "input.timeline.tracks".into(), "missing_field"),
            (
                json!({"timeline": {"tracks": {}}}),
                "input.timeline.tracks".into(),
                "invalid_field",
            ),
            (
                json!({"timeline": {"tracks": []}}),
                "input.timeline.tracks".into(),
                "invalid_field",
            ),
            (tracks(51), "input.timeline.tracks".into(), "invalid_field"),
            (
                json!({"timeline": {"tracks": [], "merge": []}}),
                "input.timeline.merge".into(),
                "invalid_field",
            ),
            (
                json!({"timeline": {"tracks": [3]}}),
                "input.timeline.tracks[0]".into(),
                "invalid_field",
            ),
            (
                json!({"timeline": {"tracks": [{}]}}),
                "input.timeline.tracks[0].clips".into(),
                "missing_field",
            ),
            (edit(vec![]), "input.timeline.tracks[0].clips".into(), "invalid_field"),
            (
                edit(clips(501)),
                "input.timeline.tracks[0].clips".into(),
                "invalid_field",
            ),
            (edit(vec![json!("clip")]), c0.into(), "invalid_field"),
            (
                edit(vec![json!({"start": 0, "length": 1})]),
                format!("{c0}.asset"),
                "missing_field",
            ),
            (
                edit(vec![json!({"asset": "x", "start": 0, "length": 1})]),
                format!("{c0}.asset"),
                "invalid_field",
            ),
            (
                edit(vec![json!({"asset": {}, "start": 0, "length": 1})]),
                format!("{c0}.asset.type"),
                "missing_field",
            ),
            (
                edit(vec![json!({"asset": {"type": " "}, "start": 0, "length": 1})]),
                format!("{c0}.asset.type"),
                "invalid_field",
            ),
            (
                edit(vec![json!({"asset": {"type": "title", "text": "t"}, "length": 1})]),
                format!("{c0}.start"),
                "missing_field",
            ),
            (
                edit(vec![clip(json!(-1), json!(1))]),
                format!("{c0}.start"),
                "invalid_field",
            ),
            (
                edit(vec![clip(json!("end"), json!(1))]),
                format!("{c0}.start"),
                "invalid_field",
            ),
            (
                edit(vec![json!({"asset": {"type": "title", "text": "t"}, "start": 0})]),
                format!("{c0}.length"),
                "missing_field",
            ),
            (
                edit(vec![clip(json!(0), json!(1)), clip(json!(0), json!(0))]),
                "input.timeline.tracks[0].clips[1].length".into(),
                "invalid_field",
            ),
            (
                edit(vec![clip(json!(0), json!("later"))]),
                format!("{c0}.length"),
                "invalid_field",
            ),
            (
                edit(vec![clip(json!(0), json!(null))]),
                format!("{c0}.length"),
                "invalid_field",
            ),
        ];
        for (value, field, code) in cases {
            let err = RenderInput::parse(&value).expect_err("invalid");
            assert_eq!((err.field.as_str(), err.code), (field.as_str(), code), "{value}: {err}");
        }
    }

    #[test]
    fn names_the_bad_output_field() {
        let cases = [
            (json!({"format": "avi"}), "input.output.format"),
            (json!({"resolution": "8k"}), "input.output.resolution"),
            (json!({"fps": 31}), "input.output.fps"),
            (json!({"aspect_ratio": "21:9"}), "input.output.aspect_ratio"),
            (json!({"quality": "high"}), "input.output.quality"),
            (json!("mp4"), "input.output"),
        ];
        for (output, field) in cases {
            let mut value = edit(vec![clip(json!(0), json!(1))]);
            value["output"] = output;
            let err = RenderInput::parse(&value).expect_err("invalid");
            assert_eq!(
                (err.field.as_str(), err.code),
                (field, "invalid_field"),
                "{value}: {err}"
            );
        }
        let mut value = edit(vec![clip(json!(0), json!(1))]);
        value["extra"] = json!(1);
        let err = RenderInput::parse(&value).expect_err("invalid");
        assert_eq!(err.field, "input.extra");
    }

    #[test]
    fn maps_formats_to_media() {
        let cases = [
            ("mp4", ("video/mp4", "mp4")),
            ("gif", ("image/gif", "gif")),
            ("mp3", ("audio/mpeg", "mp3")),
            ("jpg", ("image/jpeg", "jpg")),
            ("png", ("image/png", "png")),
            ("bmp", ("image/bmp", "bmp")),
        ];
        for (format, media) in cases {
            assert_eq!(render_format_media(format), media);
        }
    }
}
