//! One provider call for any modality: picks the adapter for the model's API and
//! says what came back — text, outputs to store, or an operation the provider is
//! still working on (to be polled). What it answers is in `adapter`.

use electrons_domain::{
    catalog::{Api, ModelConfig, ProviderConfig},
    input::JobInput,
};
use reqwest::Client;

use crate::{
    adapter::{mismatch, Called, Produced, Progress},
    audio, image, media, text, video, ProviderError,
};

/// Calls the provider once. The caller holds a grant from its limits.
pub async fn call(http: &Client, provider: &ProviderConfig, model: &ModelConfig, input: &JobInput) -> Called {
    if let JobInput::Text(input) = input {
        let called = text::generate(http, provider, model, input).await;
        return Called {
            result: called.result.map(Produced::Text),
            observation: called.observation,
        };
    }
    // Boxed: the media adapters' futures are larger than the text ones, and
    // every job in flight would otherwise carry their size.
    Box::pin(call_media(http, provider, model, input)).await
}

async fn call_media(http: &Client, provider: &ProviderConfig, model: &ModelConfig, input: &JobInput) -> Called {
    let Some(key) = provider.api_key.as_ref() else {
        return Called::without_report(Err(ProviderError::NotConfigured(provider.id.clone())));
    };
    let result = match (model.api, input) {
        (Api::OpenAiImages, JobInput::Image(input)) => image::openai::generate(http, provider, key, model, input).await,
        (Api::IdeogramGenerate, JobInput::Image(input)) => {
            image::ideogram::generate(http, provider, key, model, input).await
        }
        (Api::GeminiImage, JobInput::Image(input)) => image::gemini::generate(http, provider, key, model, input).await,
        (Api::ElevenLabsSpeech, JobInput::Speech(input)) => {
            audio::elevenlabs::speak(http, provider, key, model, input).await
        }
        (Api::PexelsVideos | Api::PexelsPhotos, JobInput::Stock(input)) => {
            let (result, observation) = media::pexels::search(http, provider, key, model, input).await;
            return Called { result, observation };
        }
        (Api::ShotstackRender, JobInput::Render(input)) => {
            video::shotstack::submit(http, provider, key, model, input).await
        }
        (Api::GeminiVeo, JobInput::Video(input)) => video::veo::submit(http, provider, key, model, input).await,
        _ => Err(mismatch(model)),
    };
    Called::without_report(result)
}

/// Polls a long-running operation once. The caller holds a grant from the provider's limits.
pub async fn poll(
    http: &Client,
    provider: &ProviderConfig,
    model: &ModelConfig,
    input: &JobInput,
    operation_id: &str,
) -> Result<Progress, ProviderError> {
    let Some(key) = provider.api_key.as_ref() else {
        return Err(ProviderError::NotConfigured(provider.id.clone()));
    };
    match (model.api, input) {
        (Api::ShotstackRender, JobInput::Render(input)) => {
            video::shotstack::poll(http, provider, key, model, input, operation_id).await
        }
        (Api::GeminiVeo, JobInput::Video(_)) => video::veo::poll(http, provider, key, operation_id).await,
        _ => Err(mismatch(model)),
    }
}
