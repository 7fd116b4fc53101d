//! One provider call for any modality: finds the model's adapter in the
//! registry, sends what it builds and reads the answer with it — text, outputs
//! to store, or an operation the provider is still working on (to be polled).
//! What it answers is in `adapter`.

use electrons_domain::{
    catalog::{ModelConfig, ProviderConfig},
    input::JobInput,
};
use reqwest::Client;

use crate::{
    adapter::{mismatch, Call, Called, Produced, Progress, Reader},
    deltas::DeltaSink,
    provider_call, registry,
    text::streaming,
    ProviderError,
};

/// Calls the provider once. The caller holds a grant from its limits. With a
/// `sink` (a text job that streams) the text goes there as it arrives, or
/// whole once it has when the model's API does not stream.
pub async fn call(
    http: &Client,
    provider: &ProviderConfig,
    model: &ModelConfig,
    input: &JobInput,
    sink: Option<&DeltaSink>,
) -> Called {
    let call = match Call::new(http, provider, model, input) {
        Ok(call) => call,
        Err(error) => return Called::without_report(Err(error)),
    };
    let adapter = registry::adapter(model.api);
    let request = match adapter.request(&call) {
        Ok(request) => request,
        Err(error) => return Called::without_report(Err(error)),
    };
    let error_message = |body: &[u8]| adapter.call_error_message(&call, body);
    let decoder = match input {
        JobInput::Text(text) => adapter.text_stream(text),
        _ => None,
    };
    if let (Some(sink), Some(decoder)) = (sink, decoder) {
        return match provider_call::send_streaming(request, provider.timeout, call.key, &error_message).await {
            Ok(response) => Called {
                observation: adapter.rate_limits(response.headers()),
                result: streaming::read(response, decoder, sink, call.key, provider.timeout).await,
            },
            Err(error) => Called::without_report(Err(error)),
        };
    }
    let called = match adapter.reader() {
        Reader::Whole(parse) => {
            let response = match provider_call::send(request, provider.timeout, call.key).await {
                Ok(response) => response,
                Err(error) => return Called::without_report(Err(error)),
            };
            let observation = adapter.rate_limits(&response.headers);
            let result = match response.status.is_success() {
                true => parse(&call, &response),
                false => Err(provider_call::status_error(
                    &response,
                    error_message(&response.body),
                    call.key,
                )),
            };
            Called { result, observation }
        }
        Reader::Stream(read) => {
            match provider_call::send_streaming(request, provider.timeout, call.key, &error_message).await {
                Ok(response) => Called {
                    observation: adapter.rate_limits(response.headers()),
                    result: read(&call, response),
                },
                Err(error) => Called::without_report(Err(error)),
            }
        }
    };
    if let (Some(sink), Ok(Produced::Text(completion))) = (sink, &called.result) {
        sink.push(&completion.text);
    }
    called
}

/// Polls a long-running operation once. The caller holds a grant from the provider's limits.
pub async fn poll(
    http: &Client,
    provider: &ProviderConfig,
    model: &ModelConfig,
    input: &JobInput,
    operation_id: &str,
) -> Result<Progress, ProviderError> {
    let call = Call::new(http, provider, model, input)?;
    let adapter = registry::adapter(model.api);
    let operations = adapter.long_running().ok_or_else(|| mismatch(model))?;
    let request = operations.poll_request(&call, operation_id)?;
    let response = provider_call::send(request, provider.timeout, call.key).await?;
    if !response.status.is_success() {
        let message = adapter.call_error_message(&call, &response.body);
        return Err(provider_call::status_error(&response, message, call.key));
    }
    operations.progress(&call, operation_id, &response)
}
