//! Every provider API DE speaks, one row each: which provider kind serves it,
//! for which modality (and, where a provider has several endpoints for one,
//! which provider models), whether it runs long, and what its input must
//! satisfy. The catalog reads this table to give each model its API and rules;
//! each row's adapter lives in `workers`.

use serde::Serialize;

use super::{Catalog, ModelConfig};
use crate::{
    input::{ImageRules, InputRules, TextLimits, VideoRules},
    job::Modality,
};
use {Api as A, Modality as M, ProviderKind as K};

/// Which company's API a provider is; with a model's modality it fixes the wire
/// format (`Api`). `openai_chat` also covers any OpenAI-compatible endpoint;
/// `http` is any other HTTP API, called as each model's mapping says
/// (`crate::http_mapping`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    OpenAiChat,
    AnthropicMessages,
    Ideogram,
    Gemini,
    ElevenLabs,
    Pexels,
    Shotstack,
    Http,
}

impl ProviderKind {
    /// What `providers.kind` may say.
    pub const NAMES: [&'static str; 8] = [
        "openai_chat",
        "anthropic_messages",
        "ideogram",
        "gemini",
        "elevenlabs",
        "pexels",
        "shotstack",
        "http",
    ];

    /// The kind a `providers.kind` value names.
    pub fn parse(kind: &str) -> Option<Self> {
        match kind {
            "openai_chat" => Some(Self::OpenAiChat),
            "anthropic_messages" => Some(Self::AnthropicMessages),
            "ideogram" => Some(Self::Ideogram),
            "gemini" => Some(Self::Gemini),
            "elevenlabs" => Some(Self::ElevenLabs),
            "pexels" => Some(Self::Pexels),
            "shotstack" => Some(Self::Shotstack),
            "http" => Some(Self::Http),
            _ => None,
        }
    }

    /// OpenAI accepts temperatures up to 2, Anthropic up to 1; an API DE
    /// only knows by its mapping gets the wider range.
    pub fn max_temperature(self) -> f64 {
        match self {
            Self::OpenAiChat | Self::Http => 2.0,
            _ => 1.0,
        }
    }
}

/// The wire format one model is called with; each has one row in `API_SPECS`
/// and one adapter in `workers`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    OpenAiChat,
    AnthropicMessages,
    OpenAiImages,
    IdeogramGenerate,
    GeminiImage,
    ElevenLabsSpeech,
    PexelsVideos,
    PexelsPhotos,
    ShotstackRender,
    GeminiVeo,
    /// A text model of an `http` provider, called as its mapping says.
    HttpText,
    /// An image model of an `http` provider.
    HttpImage,
}

/// One provider API: who serves it, for what, and what its input must satisfy.
pub struct ApiSpec {
    pub api: Api,
    pub kind: ProviderKind,
    pub modality: Modality,
    /// The provider models this API is chosen for, where one provider has
    /// several endpoints for a modality (Pexels); empty: any.
    pub provider_models: &'static [&'static str],
    /// The provider may work on the job after the call returns: the job is
    /// then polled rather than holding a worker (for `http`, when the model's
    /// mapping says `async`).
    pub long_running: bool,
    /// What a model's input must satisfy; `None` for a provider model the
    /// adapter does not know.
    pub input_rules: fn(&Catalog, &ModelConfig) -> Option<InputRules>,
}

fn text(catalog: &Catalog, model: &ModelConfig) -> Option<InputRules> {
    Some(InputRules::Text(catalog.text_limits(model)))
}

/// Anthropic's Messages API refuses whitespace where OpenAI's takes it.
fn anthropic_text(catalog: &Catalog, model: &ModelConfig) -> Option<InputRules> {
    Some(InputRules::Text(TextLimits {
        prefill_no_trailing_whitespace: true,
        stop_needs_non_whitespace: true,
        ..catalog.text_limits(model)
    }))
}

fn dall_e(_: &Catalog, model: &ModelConfig) -> Option<InputRules> {
    match model.provider_model.as_str() {
        "dall-e-3" => Some(InputRules::Image(&ImageRules::DALL_E_3)),
        "dall-e-2" => Some(InputRules::Image(&ImageRules::DALL_E_2)),
        _ => None,
    }
}

const fn row(
    api: Api,
    kind: ProviderKind,
    modality: Modality,
    input_rules: fn(&Catalog, &ModelConfig) -> Option<InputRules>,
) -> ApiSpec {
    ApiSpec {
        api,
        kind,
        modality,
        provider_models: &[],
        long_running: false,
        input_rules,
    }
}

pub static API_SPECS: &[ApiSpec] = &[
    row(A::OpenAiChat, K::OpenAiChat, M::Text, text),
    row(A::AnthropicMessages, K::AnthropicMessages, M::Text, anthropic_text),
    row(A::OpenAiImages, K::OpenAiChat, M::Image, dall_e),
    row(A::IdeogramGenerate, K::Ideogram, M::Image, |_, _| {
        Some(InputRules::Image(&ImageRules::IDEOGRAM_V2))
    }),
    row(A::GeminiImage, K::Gemini, M::Image, |_, _| {
        Some(InputRules::Image(&ImageRules::GEMINI_IMAGE))
    }),
    row(A::ElevenLabsSpeech, K::ElevenLabs, M::Audio, |_, _| {
        Some(InputRules::Speech)
    }),
    ApiSpec {
        provider_models: &["videos"],
        ..row(A::PexelsVideos, K::Pexels, M::Media, |_, _| Some(InputRules::Stock))
    },
    ApiSpec {
        provider_models: &["photos"],
        ..row(A::PexelsPhotos, K::Pexels, M::Media, |_, _| Some(InputRules::Stock))
    },
    ApiSpec {
        long_running: true,
        ..row(A::ShotstackRender, K::Shotstack, M::Video, |_, _| {
            Some(InputRules::Render)
        })
    },
    ApiSpec {
        long_running: true,
        ..row(A::GeminiVeo, K::Gemini, M::Video, |_, _| {
            Some(InputRules::Video(&VideoRules::VEO_3_1))
        })
    },
    ApiSpec {
        long_running: true,
        ..row(A::HttpText, K::Http, M::Text, text)
    },
    ApiSpec {
        long_running: true,
        ..row(A::HttpImage, K::Http, M::Image, |_, _| {
            Some(InputRules::Image(&ImageRules::HTTP))
        })
    },
];

impl ApiSpec {
    /// The row serving `modality` on a provider of `kind` for `provider_model`.
    pub fn find(kind: ProviderKind, modality: Modality, provider_model: &str) -> Option<&'static ApiSpec> {
        API_SPECS.iter().find(|spec| {
            spec.kind == kind
                && spec.modality == modality
                && (spec.provider_models.is_empty() || spec.provider_models.contains(&provider_model))
        })
    }
}

impl Api {
    /// The API serving `modality` on a provider of `kind`; `provider_model` picks
    /// between a provider's endpoints where the modality does not (Pexels).
    pub fn of(kind: ProviderKind, modality: Modality, provider_model: &str) -> Option<Self> {
        ApiSpec::find(kind, modality, provider_model).map(|spec| spec.api)
    }

    /// This API's row (every variant has one: a test checks it).
    pub fn spec(self) -> &'static ApiSpec {
        API_SPECS
            .iter()
            .find(|spec| spec.api == self)
            .unwrap_or_else(|| unreachable!("{self:?} has no row in API_SPECS"))
    }

    /// Whether the provider works on the job after the call returns (the job is
    /// then polled rather than holding a worker).
    pub fn is_long_running(self) -> bool {
        self.spec().long_running
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVERY_API: [Api; 12] = [
        Api::OpenAiChat,
        Api::AnthropicMessages,
        Api::OpenAiImages,
        Api::IdeogramGenerate,
        Api::GeminiImage,
        Api::ElevenLabsSpeech,
        Api::PexelsVideos,
        Api::PexelsPhotos,
        Api::ShotstackRender,
        Api::GeminiVeo,
        Api::HttpText,
        Api::HttpImage,
    ];

    #[test]
    fn every_api_has_exactly_one_row() {
        assert_eq!(API_SPECS.len(), EVERY_API.len());
        for api in EVERY_API {
            assert_eq!(API_SPECS.iter().filter(|spec| spec.api == api).count(), 1, "{api:?}");
            assert_eq!(api.spec().api, api);
        }
    }

    #[test]
    fn no_two_rows_serve_the_same_provider_model() {
        for (i, a) in API_SPECS.iter().enumerate() {
            for b in &API_SPECS[i + 1..] {
                let overlap = a.provider_models.is_empty()
                    || b.provider_models.is_empty()
                    || a.provider_models.iter().any(|m| b.provider_models.contains(m));
                assert!(
                    !(a.kind == b.kind && a.modality == b.modality && overlap),
                    "{:?} and {:?} would both serve one model",
                    a.api,
                    b.api
                );
            }
        }
    }
}
