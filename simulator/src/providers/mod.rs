//! The simulated provider endpoints, one module per provider. Each checks a
//! request exactly as its real API does and answers in the real wire format;
//! what they share — account limits, picking a fault, recording, latency,
//! hanging — is the pipeline in this file, so every provider misbehaves the same way.

mod anthropic_messages;
mod openai_chat;
mod rejection;
mod text;

use std::time::{Duration, Instant};

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, HeaderName, StatusCode},
    response::Response,
    routing::post,
    Router,
};
use chrono::Utc;
use rand::{distr::Alphanumeric, Rng};
use serde_json::Value;

use self::{anthropic_messages::AnthropicMessages, openai_chat::OpenAiChat, rejection::Rejection};
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
}

/// One provider endpoint: its request rules and how it words answers and errors.
pub trait Provider {
    /// The name requests are recorded under, e.g. `"openai.chat"`.
    const ENDPOINT: &'static str;
    /// A 200 body cut off mid-JSON, for `Fault::Malformed`.
    const MALFORMED: &'static str;
    /// The account limits this provider really has, in the order it reports them.
    const LIMITS: &'static [Limit];
    /// What all its rate-limit headers start with.
    const LIMIT_HEADER_PREFIX: &'static str;

    /// Checks the request as the real API would; if it passes, the normal answer.
    /// `body` is `None` when it was not JSON; `prompt` is [`Provider::prompt`] or "".
    fn respond(headers: &HeaderMap, body: Option<&Value>, prompt: &str) -> Result<Served, Rejection>;

    /// The text faults and the echo are read from (the last user message).
    fn prompt(body: &Value) -> Option<String>;

    /// The provider's error response for a rejection.
    fn reject(rejection: &Rejection) -> Response;

    /// How the provider words a failure with `status` that it chose to send.
    fn failure(status: StatusCode, model: Option<&str>) -> Rejection;

    /// The provider's 429, with `retry-after` when given.
    fn rate_limited(retry_after_secs: Option<u64>, model: Option<&str>) -> Response;

    /// Its rate-limit headers for where an account stands.
    fn limit_headers(standing: &Standing) -> HeaderMap;
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

/// When and how a request will be answered.
enum Answer {
    Now(Response),
    After(Duration, Response),
    Hang,
}

async fn handle<P: Provider>(State(controls): State<Controls>, headers: HeaderMap, body: Bytes) -> Response {
    let at = Utc::now();
    let body = serde_json::from_slice::<Value>(&body).ok();
    let prompt = body.as_ref().and_then(P::prompt);
    let model = body
        .as_ref()
        .and_then(|b| b.get("model"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let (answer, usage) = decide::<P>(&controls, &headers, body.as_ref(), prompt.as_deref(), model.as_deref());
    let standing = controls
        .account()
        .settle(P::ENDPOINT, P::LIMITS, usage.output, Instant::now());
    let status = match &answer {
        Answer::Now(response) | Answer::After(_, response) => response.status().as_u16(),
        Answer::Hang => 0,
    };
    // Recorded on arrival, so a test sees a slow or hung request while it is in flight.
    let prompt = prompt.map(|p| p.chars().take(200).collect());
    controls.record(RecordedRequest {
        at,
        endpoint: P::ENDPOINT.into(),
        model,
        prompt,
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
            P::reject(&Rejection::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The simulator is shutting down.",
            ))
        }
    };
    match standing {
        Some(standing) => with_limit_headers::<P>(response, &standing),
        None => response,
    }
}

/// What a valid request gets — checked, then let in by the account, then faulted
/// — and the usage the answer reports (none unless it is the reply).
///
/// Only requests the real API would serve are charged to the account or get a
/// fault: a scripted 500 is not spent on a request that was going to be a 400.
fn decide<P: Provider>(
    controls: &Controls,
    headers: &HeaderMap,
    body: Option<&Value>,
    prompt: Option<&str>,
    model: Option<&str>,
) -> (Answer, Usage) {
    let served = match P::respond(headers, body, prompt.unwrap_or_default()) {
        Ok(served) => served,
        Err(rejection) => return (Answer::Now(P::reject(&rejection)), Usage::default()),
    };
    let admission = controls
        .account()
        .admit(P::ENDPOINT, P::LIMITS, served.usage.input, Instant::now());
    if let Admission::Refused { retry_after_secs } = admission {
        return (
            Answer::Now(P::rate_limited(Some(retry_after_secs), model)),
            Usage::default(),
        );
    }
    match controls.next_fault(prompt.and_then(faults::directive)) {
        None => (Answer::Now(served.response), served.usage),
        Some(fault) => faulted::<P>(fault, served, model),
    }
}

/// The account's standing in place of the provider's static default-tier
/// headers, so that only the limits that are set are reported.
fn with_limit_headers<P: Provider>(mut response: Response, standing: &Standing) -> Response {
    let headers = response.headers_mut();
    let defaults: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with(P::LIMIT_HEADER_PREFIX))
        .cloned()
        .collect();
    for name in defaults {
        headers.remove(name);
    }
    headers.extend(P::limit_headers(standing));
    response
}

fn faulted<P: Provider>(fault: Fault, served: Served, model: Option<&str>) -> (Answer, Usage) {
    let none = Usage::default();
    match fault {
        Fault::Status { status } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let response = match status {
                StatusCode::TOO_MANY_REQUESTS => P::rate_limited(None, model),
                _ => P::reject(&P::failure(status, model)),
            };
            (Answer::Now(response), none)
        }
        Fault::RateLimit { retry_after_secs } => (Answer::Now(P::rate_limited(Some(retry_after_secs), model)), none),
        Fault::Hang => (Answer::Hang, none),
        Fault::Latency { ms } => (Answer::After(Duration::from_millis(ms), served.response), served.usage),
        Fault::Malformed => {
            // The real answer's status and headers, with its body cut short; the
            // reply was still generated, so its tokens count.
            let (parts, _) = served.response.into_parts();
            (
                Answer::Now(Response::from_parts(parts, Body::from(P::MALFORMED))),
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
