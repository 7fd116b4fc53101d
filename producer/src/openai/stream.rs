//! `stream: true` on a chat completion: the job is submitted streaming and
//! followed (`crate::job_events`), and its text goes out as OpenAI's
//! `chat.completion.chunk`s as the provider writes it — the assistant's role,
//! a chunk per piece, the finish reason, the usage when
//! `stream_options.include_usage` asks, then `data: [DONE]`. A job that
//! fails after the stream began ends it with OpenAI's error object, which
//! the official clients raise.

use std::convert::Infallible;

use axum::{
    body::{Body, Bytes},
    http::{header, HeaderMap, HeaderValue},
    response::Response,
};
use electrons_domain::ids::JobId;
use serde_json::{json, Value};

use super::{chat::finish_reason, error::OpenAiError, job};
use crate::{
    in_process::Api,
    job_events::{self, JobEvent},
    state::AppState,
};

/// What the chunks say of the request.
pub struct Chunks {
    pub model: String,
    pub include_usage: bool,
    /// The request asks for JSON: the checked answer is sent whole at the end
    /// (an answer that missed and was asked for again is never shown).
    pub json_answer: bool,
}

/// How long the stream may go quiet (a job waiting in the queue) before a
/// comment keeps proxies from closing it; the clients skip comments.
const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(15);

pub async fn chat(
    state: &AppState,
    api: &Api,
    headers: &HeaderMap,
    submit: &Value,
    chunks: Chunks,
) -> Result<Response, OpenAiError> {
    let submitted = job::submit(api, headers, submit, None).await?;
    let id: JobId = submitted.job["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| OpenAiError::job_unavailable("job_unreadable", "the submitted job has no id"))?;
    let created = submitted.job["created_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or(0, |t| t.timestamp());
    let writer = Writer {
        id: format!("chatcmpl-{id}"),
        created,
        chunks,
        began: false,
        ended: false,
        sent: String::new(),
    };
    let events = job_events::follow(state.clone(), id, None);
    let body = futures::stream::unfold((events, writer), |(mut events, mut writer)| async move {
        if writer.ended {
            return None;
        }
        let lines = match tokio::time::timeout(KEEP_ALIVE, events.recv()).await {
            Ok(Some(event)) => writer.lines(event),
            // The follower stopped without the job's end (it is gone).
            Ok(None) => writer.failed(&OpenAiError::job_unavailable(
                "job_unavailable",
                "the job could not be followed to its end; GET /v1/jobs/{id} reads it",
            )),
            Err(_) => ": keep-alive\n\n".to_owned(),
        };
        Some((Ok::<_, Infallible>(Bytes::from(lines)), (events, writer)))
    });
    let mut response = Response::new(Body::from_stream(body));
    let response_headers = response.headers_mut();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    submitted.tell(&mut response);
    Ok(response)
}

/// Turns the job's events into the stream's lines.
struct Writer {
    id: String,
    created: i64,
    chunks: Chunks,
    /// The role chunk went out.
    began: bool,
    ended: bool,
    /// The text sent so far.
    sent: String,
}

impl Writer {
    fn lines(&mut self, event: JobEvent) -> String {
        match event {
            JobEvent::Status { .. } => self.begin(),
            JobEvent::Delta(_) if self.chunks.json_answer => self.begin(),
            JobEvent::Delta(delta) => {
                let mut lines = self.begin();
                lines.push_str(&self.text(&delta.text));
                lines
            }
            JobEvent::Restarted { .. } if self.chunks.json_answer || self.sent.is_empty() => String::new(),
            // What was sent cannot be taken back: the stream ends in an error
            // rather than repeat the text, and the job goes on (it is in the job list).
            JobEvent::Restarted { .. } => self.failed(&OpenAiError::job_unavailable(
                "stream_restarted",
                "the provider's stream broke off and the call is being made again; the job's output will have the whole text",
            )),
            JobEvent::Finished(view) => {
                let view = serde_json::to_value(&*view).unwrap_or_default();
                if let Err(error) = job::succeeded(&view) {
                    return self.failed(&error);
                }
                let mut lines = self.begin();
                // The output is what counts: what the stream did not carry
                // (a JSON answer, pieces that could not be written) goes now.
                let output = match &view["output"] {
                    Value::String(text) => text.clone(),
                    other => other["text"].as_str().unwrap_or_default().to_owned(),
                };
                match output.strip_prefix(self.sent.as_str()) {
                    Some(rest) if !rest.is_empty() => {
                        let rest = rest.to_owned();
                        lines.push_str(&self.text(&rest));
                    }
                    Some(_) => {}
                    None => {
                        let error = OpenAiError::job_unavailable(
                            "stream_mismatch",
                            "the streamed text is not the job's output; GET /v1/jobs/{id} reads the output",
                        );
                        lines.push_str(&self.failed(&error));
                        return lines;
                    }
                }
                // Calls are told whole, after the text (the job streams text only).
                let calls = view["output"]["tool_calls"].as_array().cloned().unwrap_or_default();
                if !calls.is_empty() {
                    let pieces: Vec<Value> = calls
                        .into_iter()
                        .enumerate()
                        .map(|(index, mut call)| {
                            call["index"] = json!(index);
                            call
                        })
                        .collect();
                    lines.push_str(&self.choice(json!({ "tool_calls": pieces }), None));
                }
                let metrics = &view["metrics"];
                let reason = finish_reason(metrics["finish_reason"].as_str());
                lines.push_str(&self.choice(json!({}), Some(reason)));
                if self.chunks.include_usage {
                    let prompt = metrics["input_tokens"].as_u64().unwrap_or(0);
                    let completion = metrics["output_tokens"].as_u64().unwrap_or(0);
                    let usage = json!({
                        "prompt_tokens": prompt,
                        "completion_tokens": completion,
                        "total_tokens": prompt + completion,
                    });
                    lines.push_str(&self.chunk(json!([]), usage));
                }
                self.end(lines)
            }
        }
    }

    /// A chunk of text, remembered as sent.
    fn text(&mut self, text: &str) -> String {
        self.sent.push_str(text);
        self.choice(json!({ "content": text }), None)
    }

    /// The role chunk, once.
    fn begin(&mut self) -> String {
        if self.began {
            return String::new();
        }
        self.began = true;
        self.choice(json!({ "role": "assistant", "content": "", "refusal": null }), None)
    }

    fn choice(&self, delta: Value, finish_reason: Option<&str>) -> String {
        let choices = json!([{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason }]);
        self.chunk(choices, Value::Null)
    }

    fn chunk(&self, choices: Value, usage: Value) -> String {
        let mut chunk = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.chunks.model,
            "system_fingerprint": null,
            "choices": choices,
        });
        // Present (null until the last) only when asked for, as OpenAI's are.
        if self.chunks.include_usage {
            chunk["usage"] = usage;
        }
        format!("data: {chunk}\n\n")
    }

    fn failed(&mut self, error: &OpenAiError) -> String {
        let lines = format!("data: {}\n\n", error.body());
        self.end(lines)
    }

    fn end(&mut self, mut lines: String) -> String {
        self.ended = true;
        lines.push_str("data: [DONE]\n\n");
        lines
    }
}
