//! Ideogram, `POST /generate` (the v2 generate API): `Api-Key` header, a body of
//! `{"image_request": {…}}`, and links to PNGs at the resolution the aspect
//! ratio stands for. Errors are FastAPI's `{"detail": "…"}`: 401 without a key,
//! 422 for a body that does not fit the schema.

use axum::{
    http::{header::RETRY_AFTER, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{SecondsFormat, Utc};
use rand::Rng;
use serde_json::{json, Map, Value};

use super::{call::Call, rejection::Rejection, Dialect, Endpoint, Served, Usage};
use crate::{
    directives::{strip, Asks},
    media::Media,
};

const MODELS: &[&str] = &["V_1", "V_1_TURBO", "V_2", "V_2_TURBO", "V_2A", "V_2A_TURBO"];
const MAGIC: &[&str] = &["AUTO", "ON", "OFF"];
const STYLES: &[&str] = &["AUTO", "GENERAL", "REALISTIC", "DESIGN", "RENDER_3D", "ANIME"];
/// Each aspect ratio and the resolution Ideogram renders it at.
const ASPECTS: &[(&str, u32, u32)] = &[
    ("ASPECT_1_1", 1024, 1024),
    ("ASPECT_16_9", 1312, 736),
    ("ASPECT_9_16", 736, 1312),
    ("ASPECT_10_16", 800, 1280),
    ("ASPECT_16_10", 1280, 800),
    ("ASPECT_3_2", 1248, 832),
    ("ASPECT_2_3", 832, 1248),
    ("ASPECT_4_3", 1152, 864),
    ("ASPECT_3_4", 864, 1152),
    ("ASPECT_1_3", 576, 1728),
    ("ASPECT_3_1", 1728, 576),
];
const MAX_SEED: u64 = 2_147_483_647;

pub struct Ideogram;

impl Dialect for Ideogram {
    fn reject(rejection: &Rejection) -> Response {
        (rejection.status, Json(json!({ "detail": rejection.message }))).into_response()
    }

    fn failure(status: StatusCode, _model: Option<&str>) -> Rejection {
        let message = match status.as_u16() {
            401 => "Invalid API key.".to_string(),
            500 => "Internal Server Error".to_string(),
            503 => "Service temporarily unavailable. Please try again later.".to_string(),
            _ => format!("Simulated {status} error."),
        };
        Rejection::new(status, message)
    }

    fn rate_limited(retry_after_secs: Option<u64>, _model: Option<&str>) -> Response {
        let mut response = Self::reject(&Rejection::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests. Please slow down and try again later.",
        ));
        if let Some(secs) = retry_after_secs {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub struct IdeogramGenerate;

impl Endpoint for IdeogramGenerate {
    type Dialect = Ideogram;
    const NAME: &'static str = "ideogram.generate";
    const MALFORMED: &'static [u8] = br#"{"created": "2024-01-01T00:00:00.000000+00:00", "data": [{"url": "https://"#;

    fn respond(call: &Call, prompt: &str) -> Result<Served, Rejection> {
        if call.header("api-key").is_none() {
            return Err(Rejection::new(StatusCode::UNAUTHORIZED, "Api-Key header is required."));
        }
        let request = GenerateRequest::parse(call.body)?;
        Ok(answer(call, &request, prompt))
    }

    fn prompt(call: &Call) -> Option<String> {
        call.body?.pointer("/image_request/prompt")?.as_str().map(str::to_owned)
    }

    fn model(call: &Call) -> Option<String> {
        let model = call.body?.pointer("/image_request/model").and_then(Value::as_str);
        Some(model.unwrap_or("V_2").to_owned())
    }
}

#[derive(Debug)]
struct GenerateRequest {
    width: u32,
    height: u32,
    images: u64,
    seed: Option<u64>,
    magic: bool,
    style: Option<String>,
}

impl GenerateRequest {
    fn parse(body: Option<&Value>) -> Result<Self, Rejection> {
        let Some(body) = body.and_then(Value::as_object) else {
            return Err(invalid("body", "Input should be a valid JSON object"));
        };
        let request = match body.get("image_request") {
            Some(Value::Object(request)) => request,
            None => return Err(invalid("image_request", "Field required")),
            Some(_) => return Err(invalid("image_request", "Input should be a valid object")),
        };
        match request.get("prompt") {
            Some(Value::String(prompt)) if !prompt.trim().is_empty() => {}
            Some(Value::String(_)) => return Err(invalid("prompt", "String should have at least 1 character")),
            None => return Err(invalid("prompt", "Field required")),
            Some(_) => return Err(invalid("prompt", "Input should be a valid string")),
        }
        one_of(request, "model", MODELS)?;
        let aspect = one_of(
            request,
            "aspect_ratio",
            &ASPECTS.iter().map(|a| a.0).collect::<Vec<_>>(),
        )?;
        let magic = one_of(request, "magic_prompt_option", MAGIC)?;
        let style = one_of(request, "style_type", STYLES)?;
        let images = integer(request, "num_images", 1, 8)?.unwrap_or(1);
        let seed = integer(request, "seed", 0, MAX_SEED)?;
        if let Some(negative) = request.get("negative_prompt").filter(|v| !v.is_null()) {
            if !negative.is_string() {
                return Err(invalid("negative_prompt", "Input should be a valid string"));
            }
        }
        let (_, width, height) = ASPECTS
            .iter()
            .find(|a| Some(a.0) == aspect)
            .copied()
            .unwrap_or(ASPECTS[0]);
        Ok(Self {
            width,
            height,
            images,
            seed,
            magic: magic != Some("OFF"),
            style: style.map(str::to_owned),
        })
    }
}

/// FastAPI's wording, flattened into one `detail` string as Ideogram sends it.
fn invalid(field: &str, message: &str) -> Rejection {
    Rejection::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!("image_request.{field}: {message}"),
    )
}

fn one_of<'v>(request: &'v Map<String, Value>, field: &str, allowed: &[&str]) -> Result<Option<&'v str>, Rejection> {
    match request.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) if allowed.contains(&value.as_str()) => Ok(Some(value)),
        Some(_) => {
            let listed = allowed.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ");
            Err(invalid(field, &format!("Input should be {listed}")))
        }
    }
}

fn integer(request: &Map<String, Value>, field: &str, min: u64, max: u64) -> Result<Option<u64>, Rejection> {
    match request.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match (value.as_u64(), value.is_i64()) {
            (Some(n), _) if (min..=max).contains(&n) => Ok(Some(n)),
            (Some(_), _) | (None, true) => Err(invalid(field, &format!("Input should be between {min} and {max}"))),
            _ => Err(invalid(field, "Input should be a valid integer")),
        },
    }
}

fn answer(call: &Call, request: &GenerateRequest, prompt: &str) -> Served {
    let asks = Asks::read(prompt);
    let media = Media::Png {
        width: request.width,
        height: request.height,
    };
    let shown = match request.magic {
        true => format!(
            "{}, vivid colors, intricate detail, soft cinematic lighting",
            strip(prompt)
        ),
        false => strip(prompt),
    };
    let base = call.base();
    let data: Vec<Value> = (0..request.images)
        .map(|i| {
            let seed = request
                .seed
                .map_or_else(|| rand::rng().random_range(0..=MAX_SEED), |s| s + i);
            json!({
                "url": call.controls.files().link(&base, media, asks.file),
                "prompt": shown,
                "resolution": format!("{}x{}", request.width, request.height),
                "seed": seed,
                "is_image_safe": true,
                "style_type": request.style.as_deref().unwrap_or("GENERAL"),
            })
        })
        .collect();
    let body = json!({
        "created": Utc::now().to_rfc3339_opts(SecondsFormat::Micros, false),
        "data": data,
    });
    Served {
        response: Json(body).into_response(),
        usage: Usage::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(request: Value) -> Result<GenerateRequest, String> {
        GenerateRequest::parse(Some(&json!({ "image_request": request }))).map_err(|r| r.message)
    }

    #[test]
    fn the_aspect_ratio_sets_the_resolution() {
        let wide = parse(json!({ "prompt": "x", "aspect_ratio": "ASPECT_16_9", "num_images": 2 })).expect("valid");
        assert_eq!((wide.width, wide.height, wide.images), (1312, 736, 2));
        let square =
            parse(json!({ "prompt": "x", "model": "V_2_TURBO", "magic_prompt_option": "OFF" })).expect("valid");
        assert_eq!((square.width, square.height, square.magic), (1024, 1024, false));
    }

    #[test]
    fn invalid_bodies_are_422s() {
        let refused = |request: Value| parse(request).err().unwrap_or_default();
        assert_eq!(refused(json!({})), "image_request.prompt: Field required");
        assert!(
            refused(json!({ "prompt": "x", "aspect_ratio": "ASPECT_5_4" })).starts_with("image_request.aspect_ratio")
        );
        assert!(refused(json!({ "prompt": "x", "num_images": 9 })).contains("between 1 and 8"));
        assert!(refused(json!({ "prompt": "x", "num_images": "2" })).contains("valid integer"));
        assert!(refused(json!({ "prompt": "x", "model": "V_9" })).starts_with("image_request.model"));
        let rejection = GenerateRequest::parse(Some(&json!({ "prompt": "x" }))).err();
        assert_eq!(rejection.map(|r| r.status.as_u16()), Some(422));
    }
}
