//! Text generation. Each provider is one file implementing `TextAdapter`: build
//! the request, read the answer, find the provider's error message. Adding a
//! provider is a new file and one line in `adapter`.

mod anthropic;
mod openai;

use electrons_domain::{
    catalog::{Api, ModelConfig, ProviderConfig},
    input::TextInput,
    limiter::Observation,
    secret::Secret,
};
use reqwest::{header::HeaderMap, Client, RequestBuilder};

use crate::{
    adapter::TextCompletion,
    provider_call::{self, ProviderError, ProviderResponse},
};

pub trait TextAdapter: Send + Sync {
    fn request(
        &self,
        http: &Client,
        provider: &ProviderConfig,
        key: &Secret,
        model: &ModelConfig,
        input: &TextInput,
    ) -> RequestBuilder;
    fn parse(&self, response: &ProviderResponse) -> Result<TextCompletion, String>;
    fn error_message(&self, body: &[u8]) -> Option<String>;
    /// What the response headers say about the account's rate limits.
    fn rate_limits(&self, headers: &HeaderMap) -> Observation;
}

/// One call's result, and the provider's report on its limits if it answered.
pub struct Called {
    pub result: Result<TextCompletion, ProviderError>,
    pub observation: Observation,
}

/// The adapter of a text API; only text models come here, and every text API
/// but Anthropic's is OpenAI-compatible.
pub fn adapter(api: Api) -> &'static dyn TextAdapter {
    match api {
        Api::AnthropicMessages => &anthropic::AnthropicMessages,
        _ => &openai::OpenAiChat,
    }
}

/// Calls the provider once. The caller holds a grant from its limits.
pub async fn generate(http: &Client, provider: &ProviderConfig, model: &ModelConfig, input: &TextInput) -> Called {
    let Some(key) = provider.api_key.as_ref() else {
        return Called {
            result: Err(ProviderError::NotConfigured(provider.id.clone())),
            observation: Observation::default(),
        };
    };
    let adapter = adapter(model.api);
    let request = adapter.request(http, provider, key, model, input);
    let response = match provider_call::send(request, provider.timeout, key).await {
        Ok(response) => response,
        Err(error) => {
            return Called {
                result: Err(error),
                observation: Observation::default(),
            }
        }
    };
    let observation = adapter.rate_limits(&response.headers);
    let result = if response.status.is_success() {
        adapter
            .parse(&response)
            .map_err(|reason| response.unusable(reason, key))
    } else {
        Err(provider_call::status_error(
            &response,
            adapter.error_message(&response.body),
            key,
        ))
    };
    Called { result, observation }
}

/// What a call will cost against token limits before it is made: the prompt
/// (about four characters a token, plus each message's framing) and the most
/// it may write. Settling afterwards corrects the estimate to the real usage.
pub fn estimated_tokens(model: &ModelConfig, input: &TextInput) -> (u64, u64) {
    let conversation = input.conversation();
    let characters: usize = input.system.as_deref().map_or(0, |s| s.chars().count())
        + conversation.iter().map(|m| m.content.chars().count()).sum::<usize>();
    let framing = 4 * (conversation.len() + usize::from(input.system.is_some())) + 3;
    (
        characters.div_ceil(4) as u64 + framing as u64,
        u64::from(max_tokens(model, input)),
    )
}

/// `max_tokens` of the request: the job's, else the model's default.
fn max_tokens(model: &ModelConfig, input: &TextInput) -> u32 {
    input
        .max_tokens
        .unwrap_or(model.default_max_tokens)
        .min(model.max_output_tokens)
}
