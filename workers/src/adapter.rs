//! What a provider adapter is, and what a provider call answers whichever
//! adapter made it: the leaf that `produce`, the adapters and the steps after a
//! call (`calls`, `outcome`, `runner`, `polling`) all read, so none of them
//! imports another for its types. Each provider API has one `Adapter` in its
//! own file, listed once in `registry`.

use electrons_domain::{
    catalog::{Api, ModelConfig, ProviderConfig},
    input::{ImageInput, JobInput, RenderInput, SpeechInput, StockInput, TextInput, ToolCall, VideoInput},
    limiter::Observation,
    secret::Secret,
};
use reqwest::{header::HeaderMap, Client, RequestBuilder};

use crate::{
    outputs::Outputs,
    provider_call::{self, ProviderResponse},
    text::streaming::TextStream,
    ProviderError,
};

/// One provider API's wire format: how to ask, how to read the answer, what
/// its errors and rate-limit headers say. Synchronous: `produce` sends what
/// `request` builds, so no adapter holds a future of its own.
pub trait Adapter: Send + Sync {
    /// The rows of the API table (`electrons_domain::catalog::API_SPECS`) this
    /// adapter speaks.
    fn apis(&self) -> &'static [Api];

    /// The request for one call. Fails only for input of another modality (a bug:
    /// the catalog gives each model the rules of its API).
    fn request(&self, call: &Call) -> Result<RequestBuilder, ProviderError>;

    /// How a successful answer is read.
    fn reader(&self) -> Reader;

    /// The provider's own message in an error body.
    fn error_message(&self, body: &[u8]) -> Option<String> {
        provider_call::error_message(body)
    }

    /// The same, for an adapter whose error shape is the model's to say
    /// (the generic HTTP provider's mapping).
    fn call_error_message(&self, _call: &Call, body: &[u8]) -> Option<String> {
        self.error_message(body)
    }

    /// What the response headers say about the account's rate limits.
    fn rate_limits(&self, _headers: &HeaderMap) -> Observation {
        Observation::default()
    }

    /// For a text API that streams: a decoder for one call's events (of
    /// `input`). The adapter's `request` asks for a stream when the input says `stream`.
    fn text_stream(&self, _input: &TextInput) -> Option<Box<dyn TextStream>> {
        None
    }

    /// For an API whose call starts work the provider finishes later: how to
    /// ask after it.
    fn long_running(&self) -> Option<&dyn LongRunning> {
        None
    }
}

/// How an adapter reads a successful answer.
pub enum Reader {
    /// Whole, into memory (JSON; bounded by `provider_call`).
    Whole(fn(&Call, &ProviderResponse) -> Result<Produced, ProviderError>),
    /// As it arrives, so a large output (audio) is never held whole: it streams
    /// into storage.
    Stream(fn(&Call, reqwest::Response) -> Result<Produced, ProviderError>),
}

/// Polling an operation a call started (`Produced::Operation`).
pub trait LongRunning: Send + Sync {
    fn poll_request(&self, call: &Call, operation_id: &str) -> Result<RequestBuilder, ProviderError>;

    /// What a successful answer to a poll says.
    fn progress(&self, call: &Call, operation_id: &str, response: &ProviderResponse)
        -> Result<Progress, ProviderError>;
}

/// Everything one call is made from.
pub struct Call<'a> {
    pub http: &'a Client,
    pub provider: &'a ProviderConfig,
    /// The provider's key; adapters put it where their API wants it and nowhere else.
    pub key: &'a Secret,
    pub model: &'a ModelConfig,
    pub input: &'a JobInput,
}

impl<'a> Call<'a> {
    /// A call to `provider` for `model`, or `NotConfigured` when the provider
    /// has no key (nothing is sent then).
    pub fn new(
        http: &'a Client,
        provider: &'a ProviderConfig,
        model: &'a ModelConfig,
        input: &'a JobInput,
    ) -> Result<Self, ProviderError> {
        let key = provider
            .api_key
            .as_ref()
            .ok_or_else(|| ProviderError::NotConfigured(provider.id.clone()))?;
        Ok(Self {
            http,
            provider,
            key,
            model,
            input,
        })
    }

    /// `path` under the provider's base URL.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.provider.base_url)
    }

    /// A successful JSON answer read as `T`; one that is not is billed but unusable.
    pub fn json<T: serde::de::DeserializeOwned>(&self, response: &ProviderResponse) -> Result<T, ProviderError> {
        serde_json::from_slice(&response.body)
            .map_err(|error| response.unusable(format!("not the API's JSON: {error}"), self.key))
    }

    pub fn text(&self) -> Result<&TextInput, ProviderError> {
        match self.input {
            JobInput::Text(input) => Ok(input),
            _ => Err(mismatch(self.model)),
        }
    }

    pub fn image(&self) -> Result<&ImageInput, ProviderError> {
        match self.input {
            JobInput::Image(input) => Ok(input),
            _ => Err(mismatch(self.model)),
        }
    }

    pub fn speech(&self) -> Result<&SpeechInput, ProviderError> {
        match self.input {
            JobInput::Speech(input) => Ok(input),
            _ => Err(mismatch(self.model)),
        }
    }

    pub fn stock(&self) -> Result<&StockInput, ProviderError> {
        match self.input {
            JobInput::Stock(input) => Ok(input),
            _ => Err(mismatch(self.model)),
        }
    }

    pub fn render(&self) -> Result<&RenderInput, ProviderError> {
        match self.input {
            JobInput::Render(input) => Ok(input),
            _ => Err(mismatch(self.model)),
        }
    }

    pub fn video(&self) -> Result<&VideoInput, ProviderError> {
        match self.input {
            JobInput::Video(input) => Ok(input),
            _ => Err(mismatch(self.model)),
        }
    }
}

/// What a text model produced.
#[derive(Clone, Debug, PartialEq)]
pub struct TextCompletion {
    pub text: String,
    /// The tools the answer calls (none for a plain answer).
    pub tool_calls: Vec<ToolCall>,
    pub finish_reason: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub provider_request_id: Option<String>,
}

pub enum Produced {
    Text(TextCompletion),
    Files(Outputs),
    /// The provider accepted the work and gave it this id; poll it for the result.
    Operation {
        id: String,
    },
}

/// One call's result, and the provider's report on its limits if it answered.
pub struct Called {
    pub result: Result<Produced, ProviderError>,
    pub observation: Observation,
}

impl Called {
    pub(crate) fn without_report(result: Result<Produced, ProviderError>) -> Self {
        Self {
            result,
            observation: Observation::default(),
        }
    }
}

/// What polling a long-running operation found.
pub enum Progress {
    /// Still working; the provider's word for where it is.
    Pending { status: Option<String> },
    /// Boxed: a finished answer is far larger than the other variants.
    Done(Box<Outputs>),
    /// Finished with text (a text model of an asynchronous HTTP API).
    Written(TextCompletion),
    /// The provider gave up on it, with its reason.
    Failed { reason: String },
}

pub(crate) fn mismatch(model: &ModelConfig) -> ProviderError {
    // The catalog derives the input rules from the same API, so this is a bug.
    ProviderError::Refused(format!("model {} cannot take this input", model.id))
}
