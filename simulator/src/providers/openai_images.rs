//! OpenAI Images, `POST /v1/images/generations` with DALL·E 2 or 3: the real
//! API's argument rules, and PNGs of the requested size — linked under
//! `/_sim/files` (`response_format: "url"`, the default) or inline
//! (`"b64_json"`, always the real PNG: file directives only shape links).
//! Authentication and error bodies are OpenAI's (`openai.rs`).

use axum::{response::IntoResponse, Json};
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::Utc;
use serde_json::{json, Map, Value};

use super::{
    call::Call,
    openai::{
        self,
        arguments::{integer, invalid_type, known_only, missing, one_of, present},
        OpenAi,
    },
    rejection::Rejection,
    Endpoint, Served, Usage,
};
use crate::{
    directives::{strip, Asks},
    media::Media,
};

const KNOWN: &[&str] = &[
    "model",
    "prompt",
    "n",
    "size",
    "quality",
    "style",
    "response_format",
    "user",
];
const SIZES: &[&str] = &["256x256", "512x512", "1024x1024", "1024x1792", "1792x1024"];

pub struct OpenAiImages;

impl Endpoint for OpenAiImages {
    type Dialect = OpenAi;
    const NAME: &'static str = "openai.images";
    const MALFORMED: &'static [u8] = br#"{"created": 1700000000, "data": [{"url": "https://"#;

    fn respond(call: &Call, prompt: &str) -> Result<Served, Rejection> {
        openai::authorize(call)?;
        let body = call.body.and_then(Value::as_object).ok_or_else(openai::not_json)?;
        let request = ImageRequest::parse(body)?;
        Ok(answer(call, &request, prompt))
    }

    fn prompt(call: &Call) -> Option<String> {
        call.body?.get("prompt")?.as_str().map(str::to_owned)
    }

    /// DALL·E 2 when none is named, as in the real API.
    fn model(call: &Call) -> Option<String> {
        let model = call.body?.get("model").and_then(Value::as_str);
        Some(model.unwrap_or("dall-e-2").to_owned())
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Model {
    DallE2,
    DallE3,
}

impl Model {
    fn sizes(self) -> &'static [&'static str] {
        match self {
            Self::DallE2 => &SIZES[..3],
            Self::DallE3 => &SIZES[2..],
        }
    }

    fn max_prompt(self) -> usize {
        match self {
            Self::DallE2 => 1000,
            Self::DallE3 => 4000,
        }
    }
}

/// A request the real API would serve, reduced to what the answer needs.
#[derive(Debug)]
struct ImageRequest {
    model: Model,
    n: u64,
    width: u32,
    height: u32,
    inline: bool,
}

impl ImageRequest {
    fn parse(body: &Map<String, Value>) -> Result<Self, Rejection> {
        known_only(body, KNOWN)?;
        let model = match one_of(body, "model", &["dall-e-2", "dall-e-3"]) {
            Ok(None | Some("dall-e-2")) => Model::DallE2,
            Ok(Some(_)) => Model::DallE3,
            Err(_) => {
                let named = present(body, "model").map_or_else(String::new, |m| m.to_string());
                return Err(Rejection::bad_request(format!(
                    "Invalid value: {named}. Supported values are: 'dall-e-2' and 'dall-e-3'."
                ))
                .param("model")
                .code("invalid_value"));
            }
        };
        let prompt = match present(body, "prompt") {
            None => return Err(missing("prompt")),
            Some(Value::String(prompt)) => prompt,
            Some(other) => return Err(invalid_type("prompt", "a string", other)),
        };
        let length = prompt.chars().count();
        if length > model.max_prompt() {
            return Err(Rejection::bad_request(format!(
                "Invalid 'prompt': string too long. Expected a string with maximum length {}, but got a string with length {length} instead.",
                model.max_prompt()
            ))
            .param("prompt")
            .code("string_above_max_length"));
        }
        let n = integer(body, "n", 1, Some(10))?.unwrap_or(1);
        if model == Model::DallE3 && n != 1 {
            return Err(Rejection::bad_request("You must provide n=1 for this model.").param("n"));
        }
        let size = one_of(body, "size", SIZES)?.unwrap_or("1024x1024");
        if !model.sizes().contains(&size) {
            return Err(Rejection::bad_request("The size is not supported by this model.").param("size"));
        }
        one_of(body, "quality", &["standard", "hd"])?;
        one_of(body, "style", &["vivid", "natural"])?;
        let inline = one_of(body, "response_format", &["url", "b64_json"])? == Some("b64_json");
        let (width, height) = dimensions(size);
        Ok(Self {
            model,
            n,
            width,
            height,
            inline,
        })
    }
}

/// `"1792x1024"` as numbers; only called on sizes from [`SIZES`].
fn dimensions(size: &str) -> (u32, u32) {
    let mut sides = size.split('x').map(|side| side.parse().unwrap_or(1024));
    (sides.next().unwrap_or(1024), sides.next().unwrap_or(1024))
}

fn answer(call: &Call, request: &ImageRequest, prompt: &str) -> Served {
    let media = Media::Png {
        width: request.width,
        height: request.height,
    };
    let asks = Asks::read(prompt);
    let base = call.base();
    let data: Vec<Value> = (0..request.n)
        .map(|_| {
            let mut image = Map::new();
            if request.inline {
                image.insert("b64_json".into(), STANDARD.encode(media.bytes()).into());
            } else {
                let link = call.controls.files().link(&base, media, asks.file);
                image.insert("url".into(), link.into());
            }
            if request.model == Model::DallE3 {
                let revised = format!("A detailed, high-quality image of {}", strip(prompt));
                image.insert("revised_prompt".into(), revised.into());
            }
            Value::Object(image)
        })
        .collect();
    let body = json!({ "created": Utc::now().timestamp(), "data": data });
    Served {
        response: (openai::request_id(), Json(body)).into_response(),
        usage: Usage::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<ImageRequest, String> {
        let body = body.as_object().cloned().unwrap_or_default();
        ImageRequest::parse(&body).map_err(|r| r.message)
    }

    #[test]
    fn sizes_depend_on_the_model() {
        let wide = parse(json!({ "model": "dall-e-3", "prompt": "x", "size": "1792x1024" })).expect("valid");
        assert_eq!((wide.width, wide.height, wide.n), (1792, 1024, 1));
        let small = parse(json!({ "prompt": "x", "size": "256x256", "n": 3 })).expect("valid");
        assert_eq!((small.model, small.n, small.width), (Model::DallE2, 3, 256));
        assert_eq!(
            parse(json!({ "model": "dall-e-3", "prompt": "x", "size": "256x256" }))
                .err()
                .as_deref(),
            Some("The size is not supported by this model.")
        );
        assert_eq!(
            parse(json!({ "prompt": "x", "size": "1000x1000" })).err().as_deref(),
            Some("'1000x1000' is not one of ['256x256', '512x512', '1024x1024', '1024x1792', '1792x1024'] - 'size'")
        );
    }

    #[test]
    fn wrong_arguments_are_worded_like_openai() {
        let refused = |body: Value| parse(body).err().unwrap_or_default();
        assert_eq!(
            refused(json!({ "model": "dall-e-3" })),
            "Missing required parameter: 'prompt'."
        );
        assert_eq!(
            refused(json!({ "model": "dall-e-3", "prompt": "x", "n": 2 })),
            "You must provide n=1 for this model."
        );
        assert!(refused(json!({ "prompt": "x", "n": 11 })).contains("integer above maximum value"));
        assert!(refused(json!({ "prompt": "x".repeat(1001) })).contains("string too long"));
        assert!(refused(json!({ "prompt": "x", "model": "dall-e-9" })).starts_with("Invalid value: \"dall-e-9\""));
        assert!(refused(json!({ "prompt": "x", "style": "loud" })).contains("- 'style'"));
        assert!(refused(json!({ "prompt": "x", "response_format": "gif" })).contains("- 'response_format'"));
        assert_eq!(
            refused(json!({ "prompt": "x", "colour": "red" })),
            "Unrecognized request argument supplied: colour"
        );
    }
}
