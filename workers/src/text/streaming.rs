//! Reading a text answer as the provider streams it (server-sent events):
//! each adapter that can stream decodes its API's events (`TextStream`); this
//! file reads the events, hands every piece of text to the job's
//! `DeltaSink` as it arrives and ends with the whole completion, billed and
//! recorded like any other answer.

use electrons_domain::secret::Secret;
use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures::StreamExt;

use crate::{
    adapter::{Produced, TextCompletion},
    deltas::DeltaSink,
    provider_call::{self, ProviderError},
};

/// Why a stream did not end in a completion.
#[derive(Debug, PartialEq)]
pub enum StreamFailure {
    /// The provider reported an error inside the stream, as a status it would
    /// have answered (Anthropic's `overloaded_error` is its 529): retried as that status is.
    Provider { status: u16, message: String },
    /// The stream is not the API's, or ended early: billed, like any answer DE cannot use.
    Unusable(String),
}

/// One API's stream of events, decoded as it arrives.
pub trait TextStream: Send {
    /// One event (`name` is `message` for an unnamed one); the text it adds, if any.
    fn event(&mut self, name: &str, data: &str) -> Result<Option<String>, StreamFailure>;

    /// Whether the API has said its last word (later events are not read).
    fn done(&self) -> bool;

    /// The completion the events made.
    fn finish(self: Box<Self>) -> Result<TextCompletion, StreamFailure>;
}

/// Reads `response` through `decoder`, pushing each piece of text into `sink`.
/// `timeout` is the call's: reqwest's covers the whole body, so a stream
/// still being written when it runs out is a timeout (retried as one), not
/// an answer that broke off.
pub async fn read(
    response: reqwest::Response,
    mut decoder: Box<dyn TextStream>,
    sink: &DeltaSink,
    key: &Secret,
    timeout: Duration,
) -> Result<Produced, ProviderError> {
    let request_id = provider_call::request_id(response.headers());
    let failed = |failure: StreamFailure| match failure {
        StreamFailure::Provider { status, message } => ProviderError::Status {
            status,
            message: provider_call::scrub_secret(message, key),
            retry_after: None,
            request_id: request_id.clone(),
        },
        StreamFailure::Unusable(reason) => provider_call::unusable_stream(reason, request_id.clone(), key),
    };
    let mut events = response.bytes_stream().eventsource();
    while let Some(event) = events.next().await {
        let event = event.map_err(|error| match error {
            EventStreamError::Transport(error) if error.is_timeout() => ProviderError::Timeout(timeout),
            EventStreamError::Transport(error) => {
                // The provider answered and charged: a stream that broke off is
                // not a call that never happened.
                let reason = format!("the answer broke off: {}", provider_call::without_url(&error));
                failed(StreamFailure::Unusable(reason))
            }
            other => failed(StreamFailure::Unusable(format!(
                "the stream is not server-sent events: {other}"
            ))),
        })?;
        if let Some(text) = decoder.event(&event.event, &event.data).map_err(failed)? {
            sink.push(&text);
        }
        if decoder.done() {
            break;
        }
    }
    decoder.finish().map(Produced::Text).map_err(failed)
}
