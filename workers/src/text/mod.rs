//! Text generation. Each provider is one file implementing `TextAdapter`: build
//! the request, read the answer, find the provider's error message. Adding a
//! provider is a new file and one line in `adapter`.

mod anthropic;
mod openai;

use electrons_domain::{
    catalog::{ModelConfig, ProviderConfig, ProviderKind},
    input::TextInput,
    secret::Secret,
};
use reqwest::{Client, RequestBuilder};

use crate::provider_call::{self, ProviderError, ProviderResponse};

/// What a text model produced.
#[derive(Clone, Debug, PartialEq)]
pub struct TextCompletion {
    pub text: String,
    pub finish_reason: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub provider_request_id: Option<String>,
}

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
}

pub fn adapter(kind: ProviderKind) -> &'static dyn TextAdapter {
    match kind {
        ProviderKind::OpenAiChat => &openai::OpenAiChat,
        ProviderKind::AnthropicMessages => &anthropic::AnthropicMessages,
    }
}

/// Calls the provider once. The caller holds a token from its bucket.
pub async fn generate(
    http: &Client,
    provider: &ProviderConfig,
    model: &ModelConfig,
    input: &TextInput,
) -> Result<TextCompletion, ProviderError> {
    let key = provider
        .api_key
        .as_ref()
        .ok_or_else(|| ProviderError::NotConfigured(provider.id.clone()))?;
    let adapter = adapter(provider.kind);
    let request = adapter.request(http, provider, key, model, input);
    let response = provider_call::send(request, provider.timeout, key).await?;
    if !response.status.is_success() {
        return Err(provider_call::status_error(
            &response,
            adapter.error_message(&response.body),
            key,
        ));
    }
    adapter.parse(&response).map_err(ProviderError::Malformed)
}

/// `max_tokens` of the request: the job's, else the model's default.
fn max_tokens(model: &ModelConfig, input: &TextInput) -> u32 {
    input
        .max_tokens
        .unwrap_or(model.default_max_tokens)
        .min(model.max_output_tokens)
}
