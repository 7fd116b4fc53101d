//! Every provider adapter, one line each. A new provider is a file under its
//! modality's folder, a row in the API table
//! (`electrons_domain::catalog::API_SPECS`), a line here and its seed rows;
//! the tests below check that the table and this list agree.

use electrons_domain::catalog::Api;

use crate::{
    adapter::Adapter,
    audio::elevenlabs::ElevenLabsSpeech,
    generic_http::GenericHttp,
    image::{gemini::GeminiImage, ideogram::IdeogramGenerate, openai::OpenAiImages},
    media::pexels::PexelsSearch,
    text::{anthropic::AnthropicMessages, openai::OpenAiChat},
    video::{shotstack::ShotstackRender, veo::GeminiVeo},
};

pub static ADAPTERS: &[&dyn Adapter] = &[
    &OpenAiChat,
    &AnthropicMessages,
    &OpenAiImages,
    &IdeogramGenerate,
    &GeminiImage,
    &ElevenLabsSpeech,
    &PexelsSearch,
    &ShotstackRender,
    &GeminiVeo,
    &GenericHttp,
];

/// The adapter speaking `api` (every API has exactly one: a test checks it).
pub fn adapter(api: Api) -> &'static dyn Adapter {
    ADAPTERS
        .iter()
        .copied()
        .find(|adapter| adapter.apis().contains(&api))
        .unwrap_or_else(|| unreachable!("no adapter speaks {api:?}"))
}

#[cfg(test)]
mod tests {
    use electrons_domain::catalog::API_SPECS;

    use super::*;

    #[test]
    fn every_api_in_the_table_has_exactly_one_adapter() {
        for spec in API_SPECS {
            let speakers = ADAPTERS.iter().filter(|a| a.apis().contains(&spec.api)).count();
            assert_eq!(speakers, 1, "{:?} has {speakers} adapters", spec.api);
        }
    }

    #[test]
    fn every_adapter_speaks_only_apis_in_the_table() {
        for adapter in ADAPTERS {
            for api in adapter.apis() {
                assert!(
                    API_SPECS.iter().any(|spec| spec.api == *api),
                    "{api:?} is not in API_SPECS"
                );
            }
        }
    }

    #[test]
    fn long_running_apis_and_adapters_that_poll_agree() {
        for spec in API_SPECS {
            assert_eq!(
                adapter(spec.api).long_running().is_some(),
                spec.long_running,
                "{:?}: the table and its adapter disagree on polling",
                spec.api
            );
        }
    }
}
