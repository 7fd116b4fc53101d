//! The simulated provider endpoints, one module per provider. Each checks a
//! request exactly as its real API does and answers in the real wire format;
//! what they share — account limits, picking a fault, recording, latency,
//! hanging — is the pipeline in this file, so every provider misbehaves the same way.
//!
//! An endpoint ([`Endpoint`]) says what a valid request is and what it gets; its
//! provider's [`Dialect`] says how that provider words errors and rate limits,
//! shared by all of the provider's endpoints.

mod anthropic_messages;
mod call;
mod elevenlabs;
mod forge;
mod google;
mod ideogram;
mod json_reply;
mod openai;
mod openai_chat;
mod openai_images;
mod pexels;
mod rejection;
mod shotstack;
mod sse;
mod text;

use std::time::{Duration, Instant};

use axum::{
    body::{Body, Bytes},
    extract::{RawQuery, State},
    http::{header::CONTENT_LENGTH, HeaderMap, HeaderName, StatusCode},
    response::Response,
    routing::{get, post},
    Router,
};
use chrono::Utc;
use rand::{distr::Alphanumeric, Rng};
use serde_json::Value;

use self::{
    anthropic_messages::AnthropicMessages,
    call::{Call, Params},
    elevenlabs::TextToSpeech,
    forge::{ForgeGenerate, ForgeImages, ForgeSubmitTask, ForgeTask},
    ideogram::IdeogramGenerate,
    openai_chat::OpenAiChat,
    openai_images::OpenAiImages,
    pexels::{PexelsPhotos, PexelsVideos},
    rejection::Rejection,
    shotstack::{RenderStatus, SubmitRender},
};
use crate::{
    account::{Admission, Limit, Standing},
    controls::Controls,
    faults,
    faults::Fault,
    stats::RecordedRequest,
};

pub fn router() -> Router<Controls> {
    Router::new()
        .route("/v1/chat/completions", post(handle::<OpenAiChat>))
        .route("/v1/messages", post(handle::<AnthropicMessages>))
        .route("/v1/images/generations", post(handle::<OpenAiImages>))
        .route("/generate", post(handle::<IdeogramGenerate>))
        .route("/v1/text-to-speech/{voice_id}", post(handle::<TextToSpeech>))
        .route("/videos/search", get(handle::<PexelsVideos>))
        .route("/v1/search", get(handle::<PexelsPhotos>))
        .route("/edit/{env}/render", post(handle::<SubmitRender>))
        .route("/{env}/render", post(handle::<SubmitRender>))
        .route("/edit/{env}/render/{id}", get(handle::<RenderStatus>))
        .route("/{env}/render/{id}", get(handle::<RenderStatus>))
        .route("/forge/v1/generate", post(handle::<ForgeGenerate>))
        .route("/forge/v1/images", post(handle::<ForgeImages>))
        .route("/forge/v1/tasks", post(handle::<ForgeSubmitTask>))
        .route("/forge/v1/tasks/{id}", get(handle::<ForgeTask>))
        .merge(google::router())
}

/// How a provider words refusals, failures and rate limits, for all its endpoints.
pub trait Dialect {
    /// The account limits this provider really has, in the order it reports
    /// them; none for providers whose limits the simulator does not model.
    const LIMITS: &'static [Limit] = &[];
    /// What all its rate-limit headers start with.
    const LIMIT_HEADER_PREFIX: &'static str = "";

    /// The provider's error response for a rejection.
    fn reject(rejection: &Rejection) -> Response;

    /// How the provider words a failure with `status` that it chose to send.
    fn failure(status: StatusCode, model: Option<&str>) -> Rejection;

    /// The provider's 429, with `retry-after` when given.
    fn rate_limited(retry_after_secs: Option<u64>, model: Option<&str>) -> Response;

    /// Its rate-limit headers for where an account stands.
    fn limit_headers(_standing: &Standing) -> HeaderMap {
        HeaderMap::new()
    }
}

/// One provider endpoint: its request rules and its normal answer.
pub trait Endpoint {
    type Dialect: Dialect;
    /// The name requests are recorded under, e.g. `"openai.chat"`.
    const NAME: &'static str;
    /// A 200 body cut off short, for `Fault::Malformed`: JSON cut mid-way, or
    /// the first bytes of a binary answer.
    const MALFORMED: &'static [u8];
    /// Whether the request's JSON body is recorded whole (for endpoints whose
    /// callers are checked on exactly what they send).
    const RECORDS_BODY: bool = false;

    /// Checks the request as the real API would; if it passes, the normal answer.
    /// `prompt` is [`Endpoint::prompt`] or "". Files published and operations
    /// started here exist even if a fault then replaces the answer; as nobody
    /// learns their ids, that is as if they had never been made.
    fn respond(call: &Call, prompt: &str) -> Result<Served, Rejection>;

    /// The text faults and output directives are read from, and that is recorded.
    fn prompt(call: &Call) -> Option<String>;

    /// The model recorded for the request: the body's `model` unless the
    /// endpoint names it elsewhere.
    fn model(call: &Call) -> Option<String> {
        call.body?.get("model")?.as_str().map(str::to_owned)
    }

    /// A text request's system prompt, recorded.
    fn system(_call: &Call) -> Option<String> {
        None
    }
}

/// A normal answer and the usage it reports.
pub struct Served {
    pub response: Response,
    pub usage: Usage,
}

/// Tokens as an answer reports them; output covers every choice.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
}

/// The last four characters of the key a request carried, wherever its API
/// puts it (`Bearer` or `Token` authorization included).
fn key_last4(headers: &HeaderMap, query: &[(String, String)]) -> Option<String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let key = header("authorization")
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("Token ")))
        .or_else(|| header("x-api-key"))
        .or_else(|| header("x-goog-api-key"))
        .or_else(|| header("xi-api-key"))
        .or_else(|| {
            query
                .iter()
                .find(|(name, _)| name == "key")
                .map(|(_, value)| value.as_str())
        })?;
    let chars: Vec<char> = key.chars().collect();
    Some(chars[chars.len().saturating_sub(4)..].iter().collect())
}

/// When and how a request will be answered.
enum Answer {
    Now(Response),
    After(Duration, Response),
    Hang,
}

async fn handle<E: Endpoint>(
    State(controls): State<Controls>,
    Params(params): Params,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Utc::now();
    let query = call::parse_query(query.as_deref());
    let body = serde_json::from_slice::<Value>(&body).ok();
    let call = Call {
        controls: &controls,
        headers: &headers,
        params: &params,
        query: &query,
        body: body.as_ref(),
    };
    let prompt = E::prompt(&call);
    let model = E::model(&call);
    let (answer, usage) = decide::<E>(&call, prompt.as_deref(), model.as_deref());
    let limits = <E::Dialect as Dialect>::LIMITS;
    let standing = controls.account().settle(E::NAME, limits, usage.output, Instant::now());
    let status = match &answer {
        Answer::Now(response) | Answer::After(_, response) => response.status().as_u16(),
        Answer::Hang => 0,
    };
    // Recorded on arrival, so a test sees a slow or hung request while it is in flight.
    let prompt = prompt.map(|p| p.chars().take(200).collect());
    let system = E::system(&call).map(|s| s.chars().take(200).collect());
    let temperature = call.body.and_then(|b| b.get("temperature")).and_then(Value::as_f64);
    controls.record(RecordedRequest {
        at,
        endpoint: E::NAME.into(),
        model,
        prompt,
        system,
        temperature,
        key_last4: key_last4(&headers, &query),
        body: E::RECORDS_BODY.then(|| body.clone()).flatten(),
        status,
        input_tokens: usage.input,
        output_tokens: usage.output,
    });
    pause(controls.latency()).await;
    let response = match answer {
        Answer::Now(response) => response,
        Answer::After(delay, response) => {
            pause(delay).await;
            response
        }
        Answer::Hang => {
            // Dropped with the connection if the client gives up first.
            controls.stopping().await;
            E::Dialect::reject(&Rejection::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The simulator is shutting down.",
            ))
        }
    };
    match standing {
        Some(standing) if !standing.is_empty() => with_limit_headers::<E::Dialect>(response, &standing),
        _ => response,
    }
}

/// What a valid request gets — checked, then let in by the account, then faulted
/// — and the usage the answer reports (none unless it is the reply).
///
/// Only requests the real API would serve are charged to the account or get a
/// fault: a scripted 500 is not spent on a request that was going to be a 400.
fn decide<E: Endpoint>(call: &Call, prompt: Option<&str>, model: Option<&str>) -> (Answer, Usage) {
    let served = match E::respond(call, prompt.unwrap_or_default()) {
        Ok(served) => served,
        Err(rejection) => return (Answer::Now(E::Dialect::reject(&rejection)), Usage::default()),
    };
    let limits = <E::Dialect as Dialect>::LIMITS;
    let admission = call
        .controls
        .account()
        .admit(E::NAME, limits, served.usage.input, Instant::now());
    if let Admission::Refused { retry_after_secs } = admission {
        return (
            Answer::Now(E::Dialect::rate_limited(Some(retry_after_secs), model)),
            Usage::default(),
        );
    }
    match call.controls.next_fault(prompt.and_then(faults::directive)) {
        None => (Answer::Now(served.response), served.usage),
        Some(fault) => faulted::<E>(fault, served, model),
    }
}

/// The account's standing in place of the provider's static default-tier
/// headers, so that only the limits that are set are reported.
fn with_limit_headers<D: Dialect>(mut response: Response, standing: &Standing) -> Response {
    let headers = response.headers_mut();
    let defaults: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with(D::LIMIT_HEADER_PREFIX))
        .cloned()
        .collect();
    for name in defaults {
        headers.remove(name);
    }
    headers.extend(D::limit_headers(standing));
    response
}

fn faulted<E: Endpoint>(fault: Fault, served: Served, model: Option<&str>) -> (Answer, Usage) {
    let none = Usage::default();
    match fault {
        Fault::Status { status } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let response = match status {
                StatusCode::TOO_MANY_REQUESTS => E::Dialect::rate_limited(None, model),
                _ => E::Dialect::reject(&E::Dialect::failure(status, model)),
            };
            (Answer::Now(response), none)
        }
        Fault::RateLimit { retry_after_secs } => (
            Answer::Now(E::Dialect::rate_limited(Some(retry_after_secs), model)),
            none,
        ),
        Fault::Hang => (Answer::Hang, none),
        Fault::Latency { ms } => (Answer::After(Duration::from_millis(ms), served.response), served.usage),
        Fault::Malformed => {
            // The real answer's status and headers, with its body cut short; the
            // reply was still generated, so its tokens count.
            let (mut parts, _) = served.response.into_parts();
            parts.headers.remove(CONTENT_LENGTH);
            (
                Answer::Now(Response::from_parts(parts, Body::from(E::MALFORMED))),
                served.usage,
            )
        }
    }
}

async fn pause(delay: Duration) {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

/// `prefix` followed by `len` random letters and digits, like providers' ids.
fn random_id(prefix: &str, len: usize) -> String {
    let mut id = String::with_capacity(prefix.len() + len);
    id.push_str(prefix);
    id.extend(rand::rng().sample_iter(Alphanumeric).take(len).map(char::from));
    id
}
