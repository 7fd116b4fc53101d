//! The simulated provider endpoints, one module per provider. Each checks a
//! request exactly as its real API does and answers in the real wire format;
//! what they share — picking a fault, recording, latency, hanging — is the
//! pipeline in this file, so every provider misbehaves the same way.

mod anthropic_messages;
mod openai_chat;
mod rejection;
mod text;

use std::time::Duration;

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
    routing::post,
    Router,
};
use chrono::Utc;
use rand::{distr::Alphanumeric, Rng};
use serde_json::Value;

use self::{anthropic_messages::AnthropicMessages, openai_chat::OpenAiChat, rejection::Rejection};
use crate::{controls::Controls, faults, faults::Fault, stats::RecordedRequest};

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

    /// Checks the request as the real API would; if it passes, the normal answer.
    /// `body` is `None` when it was not JSON; `prompt` is [`Provider::prompt`] or "".
    fn respond(headers: &HeaderMap, body: Option<&Value>, prompt: &str) -> Result<Response, Rejection>;

    /// The text faults and the echo are read from (the last user message).
    fn prompt(body: &Value) -> Option<String>;

    /// The provider's error response for a rejection.
    fn reject(rejection: &Rejection) -> Response;

    /// How the provider words a failure with `status` that it chose to send.
    fn failure(status: StatusCode, model: Option<&str>) -> Rejection;

    /// The provider's 429, with `retry-after` when given.
    fn rate_limited(retry_after_secs: Option<u64>, model: Option<&str>) -> Response;
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
    let answer = match P::respond(&headers, body.as_ref(), prompt.as_deref().unwrap_or_default()) {
        Err(rejection) => Answer::Now(P::reject(&rejection)),
        // Faults only hit requests the real API would have served: a scripted
        // 500 is not spent on a request that was going to be a 400 anyway.
        Ok(success) => match controls.next_fault(prompt.as_deref().and_then(faults::directive)) {
            None => Answer::Now(success),
            Some(fault) => faulted::<P>(fault, success, model.as_deref()),
        },
    };
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
    });
    pause(controls.latency()).await;
    match answer {
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
    }
}

fn faulted<P: Provider>(fault: Fault, success: Response, model: Option<&str>) -> Answer {
    match fault {
        Fault::Status { status } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Answer::Now(match status {
                StatusCode::TOO_MANY_REQUESTS => P::rate_limited(None, model),
                _ => P::reject(&P::failure(status, model)),
            })
        }
        Fault::RateLimit { retry_after_secs } => Answer::Now(P::rate_limited(Some(retry_after_secs), model)),
        Fault::Hang => Answer::Hang,
        Fault::Latency { ms } => Answer::After(Duration::from_millis(ms), success),
        Fault::Malformed => {
            // The real answer's status and headers, with its body cut short.
            let (parts, _) = success.into_parts();
            Answer::Now(Response::from_parts(parts, Body::from(P::MALFORMED)))
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
