//! Ideogram generate (v2): `POST /generate` with an `Api-Key` header and an
//! `image_request`. Answers with links that expire, copied into storage.

use electrons_domain::{answer::Answer, catalog::Api, input::ideogram_aspect};
use reqwest::RequestBuilder;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::{
    adapter::{Adapter, Call, Produced, Reader},
    outputs::{link, Outputs},
    provider_call::{ProviderError, ProviderResponse},
};

pub struct IdeogramGenerate;

#[derive(Deserialize)]
struct Response {
    data: Vec<Image>,
}

#[derive(Deserialize)]
struct Image {
    url: Option<String>,
    prompt: Option<String>,
    resolution: Option<String>,
    seed: Option<i64>,
    is_image_safe: Option<bool>,
}

impl Adapter for IdeogramGenerate {
    fn apis(&self) -> &'static [Api] {
        &[Api::IdeogramGenerate]
    }

    fn request(&self, call: &Call) -> Result<RequestBuilder, ProviderError> {
        let (model, input) = (call.model, call.image()?);
        let mut request = json!({
            "prompt": input.prompt,
            "model": model.provider_model,
            "num_images": input.count(),
        });
        if let Some(aspect) = input.aspect_ratio.as_deref().and_then(ideogram_aspect) {
            request["aspect_ratio"] = json!(aspect);
        }
        if let Some(magic) = &input.magic_prompt {
            request["magic_prompt_option"] = json!(magic.to_ascii_uppercase());
        }
        if let Some(seed) = input.seed {
            request["seed"] = json!(seed);
        }
        if let Some(negative) = &input.negative_prompt {
            request["negative_prompt"] = json!(negative);
        }
        Ok(call
            .http
            .post(call.url("generate"))
            .header("Api-Key", call.key.expose())
            .json(&json!({ "image_request": request })))
    }

    fn reader(&self) -> Reader {
        Reader::Whole(images)
    }
}

fn images(call: &Call, response: &ProviderResponse) -> Result<Produced, ProviderError> {
    let parsed: Response = call.json(response)?;
    let mut files = Vec::new();
    let mut images = Vec::new();
    for image in parsed.data {
        images.push(json!({
            "prompt": image.prompt,
            "resolution": image.resolution,
            "seed": image.seed,
            "is_image_safe": image.is_image_safe,
        }));
        // Ideogram withholds the link of an image its safety check flagged.
        if let Some(url) = image.url {
            files.push(link(format!("image-{}.png", files.len() + 1), "image/png", url));
        }
    }
    if files.is_empty() {
        return Err(ProviderError::Refused(
            "Ideogram returned no image (its safety check withholds flagged images)".into(),
        ));
    }
    let mut details = Map::new();
    details.insert("images".into(), Value::Array(images));
    Ok(Produced::Files(Outputs::answered(Answer::new(
        files,
        details,
        response.request_id(),
    ))))
}
