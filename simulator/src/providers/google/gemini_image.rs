//! Gemini `generateContent` as the image models answer it: the request's text,
//! and with `responseModalities` including `IMAGE`, a PNG inline (base64) at the
//! resolution of `imageConfig.aspectRatio`. Without `IMAGE` it answers text only,
//! like any Gemini model.

use axum::{response::IntoResponse, Json};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Map, Value};

use super::{authorize, unsupported, Google};
use crate::{
    directives::strip,
    media::Media,
    providers::{call::Call, random_id, rejection::Rejection, text, Endpoint, Served, Usage},
};

/// Each aspect ratio and the resolution Gemini's image models render it at.
const ASPECTS: &[(&str, u32, u32)] = &[
    ("1:1", 1024, 1024),
    ("2:3", 832, 1248),
    ("3:2", 1248, 832),
    ("3:4", 864, 1184),
    ("4:3", 1184, 864),
    ("4:5", 896, 1152),
    ("5:4", 1152, 896),
    ("9:16", 768, 1344),
    ("16:9", 1344, 768),
    ("21:9", 1536, 672),
];
const MODALITIES: &[&str] = &["TEXT", "IMAGE", "AUDIO"];
/// What one generated image counts as in `candidatesTokenCount`.
const IMAGE_TOKENS: u64 = 1290;

pub struct GenerateContent;

impl Endpoint for GenerateContent {
    type Dialect = Google;
    const NAME: &'static str = "gemini.generate_content";
    const MALFORMED: &'static [u8] =
        br#"{"candidates": [{"content": {"role": "model", "parts": [{"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo"#;

    fn respond(call: &Call, prompt: &str) -> Result<Served, Rejection> {
        authorize(call)?;
        let model = call.param("model");
        if model.starts_with("veo") || model.starts_with("imagen") {
            return Err(unsupported(model, "generateContent"));
        }
        let request = ContentRequest::parse(call.body)?;
        let image = request.modalities.iter().any(|m| m == "IMAGE");
        if image && !model.contains("image") {
            return Err(Rejection::bad_request(
                "Model does not support the requested response modalities: image",
            ));
        }
        Ok(answer(model, &request, prompt))
    }

    /// The text parts of the last content turn.
    fn prompt(call: &Call) -> Option<String> {
        let content = call.body?.get("contents")?.as_array()?.last()?;
        let texts: Vec<&str> = content
            .get("parts")?
            .as_array()?
            .iter()
            .filter_map(|part| part.get("text")?.as_str())
            .collect();
        Some(texts.join("\n"))
    }

    fn model(call: &Call) -> Option<String> {
        Some(call.param("model").to_owned())
    }
}

#[derive(Debug)]
struct ContentRequest {
    modalities: Vec<String>,
    width: u32,
    height: u32,
    input_tokens: u64,
}

impl ContentRequest {
    fn parse(body: Option<&Value>) -> Result<Self, Rejection> {
        let Some(body) = body.and_then(Value::as_object) else {
            return Err(Rejection::bad_request(
                "Invalid JSON payload received. Expected an object.",
            ));
        };
        let input_tokens = contents(body.get("contents"))?;
        let config = match body.get("generationConfig") {
            None | Some(Value::Null) => &Map::new(),
            Some(Value::Object(config)) => config,
            Some(_) => return Err(invalid_value("generation_config", "an object")),
        };
        let modalities = modalities(config.get("responseModalities"))?;
        let aspect = match config.get("imageConfig").and_then(|c| c.get("aspectRatio")) {
            None | Some(Value::Null) => "1:1",
            Some(Value::String(aspect)) => aspect.as_str(),
            Some(_) => return Err(invalid_value("generation_config.image_config.aspect_ratio", "a string")),
        };
        let Some(&(_, width, height)) = ASPECTS.iter().find(|a| a.0 == aspect) else {
            return Err(Rejection::bad_request(format!(
                "Unsupported aspect ratio: {aspect}. Supported values are: {}.",
                ASPECTS.iter().map(|a| a.0).collect::<Vec<_>>().join(", ")
            )));
        };
        Ok(Self {
            modalities,
            width,
            height,
            input_tokens,
        })
    }
}

/// Checks `contents` (at least one turn, each with parts); returns its text tokens.
fn contents(contents: Option<&Value>) -> Result<u64, Rejection> {
    let turns = match contents {
        Some(Value::Array(turns)) if !turns.is_empty() => turns,
        None | Some(Value::Null) | Some(Value::Array(_)) => {
            return Err(Rejection::bad_request(
                "* GenerateContentRequest.contents: contents is not specified\n",
            ))
        }
        Some(_) => return Err(invalid_value("contents", "a list")),
    };
    let mut tokens = 0;
    for (i, turn) in turns.iter().enumerate() {
        let parts = match turn.get("parts") {
            Some(Value::Array(parts)) if !parts.is_empty() => parts,
            _ => {
                return Err(Rejection::bad_request(format!(
                    "* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.\n"
                )))
            }
        };
        for part in parts {
            match part.get("text") {
                Some(Value::String(text)) => tokens += text::tokens(text),
                Some(_) => return Err(invalid_value(&format!("contents[{i}].parts.text"), "a string")),
                None if part.get("inlineData").is_some() || part.get("fileData").is_some() => {}
                None => {
                    return Err(Rejection::bad_request(format!(
                        "* GenerateContentRequest.contents[{i}].parts: part must have one of text, inlineData or fileData.\n"
                    )))
                }
            }
        }
    }
    Ok(tokens)
}

fn modalities(value: Option<&Value>) -> Result<Vec<String>, Rejection> {
    let listed = match value {
        None | Some(Value::Null) => return Ok(vec!["TEXT".into()]),
        Some(Value::Array(listed)) => listed,
        Some(_) => return Err(invalid_value("generation_config.response_modalities", "a list")),
    };
    listed
        .iter()
        .enumerate()
        .map(|(i, modality)| match modality.as_str() {
            Some(m) if MODALITIES.contains(&m) => Ok(m.to_string()),
            _ => Err(Rejection::bad_request(format!(
                "Invalid value at 'generation_config.response_modalities[{i}]' (type.googleapis.com/google.ai.generativelanguage.v1beta.GenerationConfig.Modality), {modality}"
            ))),
        })
        .collect()
}

fn invalid_value(field: &str, expected: &str) -> Rejection {
    Rejection::bad_request(format!(
        "Invalid JSON payload received. Invalid value at '{field}': expected {expected}."
    ))
}

fn answer(model: &str, request: &ContentRequest, prompt: &str) -> Served {
    let image = request.modalities.iter().any(|m| m == "IMAGE");
    let text_wanted = request.modalities.iter().any(|m| m == "TEXT");
    let mut parts = Vec::new();
    let mut output_tokens = 0;
    if text_wanted {
        let said = match image {
            true => format!("Here is your image of {}.", strip(prompt)),
            false => text::reply(model, prompt, None).text,
        };
        output_tokens += text::tokens(&said);
        parts.push(json!({ "text": said }));
    }
    if image {
        let png = Media::Png {
            width: request.width,
            height: request.height,
        }
        .bytes();
        output_tokens += IMAGE_TOKENS;
        parts.push(json!({ "inlineData": { "mimeType": "image/png", "data": STANDARD.encode(png) } }));
    }
    let body = json!({
        "candidates": [{
            "content": { "role": "model", "parts": parts },
            "finishReason": "STOP",
            "index": 0,
        }],
        "usageMetadata": {
            "promptTokenCount": request.input_tokens,
            "candidatesTokenCount": output_tokens,
            "totalTokenCount": request.input_tokens + output_tokens,
            "promptTokensDetails": [{ "modality": "TEXT", "tokenCount": request.input_tokens }],
        },
        "modelVersion": model,
        "responseId": random_id("", 22),
    });
    Served {
        response: Json(body).into_response(),
        usage: Usage {
            input: request.input_tokens,
            output: output_tokens,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<ContentRequest, String> {
        ContentRequest::parse(Some(&body)).map_err(|r| r.message)
    }

    #[test]
    fn the_aspect_ratio_sets_the_resolution() {
        let request = parse(json!({
            "contents": [{ "parts": [{ "text": "a red fox" }] }],
            "generationConfig": { "responseModalities": ["TEXT", "IMAGE"], "imageConfig": { "aspectRatio": "16:9" } },
        }))
        .expect("valid");
        assert_eq!((request.width, request.height), (1344, 768));
        assert_eq!(request.modalities, ["TEXT", "IMAGE"]);
        assert_eq!(request.input_tokens, 3);
    }

    #[test]
    fn invalid_requests_are_worded_like_google() {
        let refused = |body: Value| parse(body).err().unwrap_or_default();
        assert!(refused(json!({})).contains("contents is not specified"));
        assert!(refused(json!({ "contents": [{ "parts": [] }] })).contains("must not be empty"));
        let with = |config: Value| json!({ "contents": [{ "parts": [{ "text": "x" }] }], "generationConfig": config });
        assert!(refused(with(json!({ "responseModalities": ["VIDEO"] }))).contains("response_modalities[0]"));
        assert!(refused(with(json!({ "imageConfig": { "aspectRatio": "7:5" } })))
            .starts_with("Unsupported aspect ratio: 7:5"));
    }
}
