//! OpenAI Chat Completions, `POST /v1/chat/completions`: the answer. What a
//! valid request is lives in `request.rs`; authentication and the error bodies
//! are OpenAI's, in `openai.rs`.

mod request;

use std::time::Duration;

use axum::{response::IntoResponse, Json};
use chrono::Utc;
use serde_json::{json, Value};

use self::request::ChatRequest;
use super::{
    call::Call,
    json_reply,
    openai::{
        self,
        rate_limits::{default_headers, REQUESTS_PER_MINUTE, TOKENS_PER_MINUTE},
        OpenAi,
    },
    random_id,
    rejection::Rejection,
    sse, text, Endpoint, Served, Usage,
};
use crate::directives::Asks;

pub struct OpenAiChat;

impl Endpoint for OpenAiChat {
    type Dialect = OpenAi;
    const NAME: &'static str = "openai.chat";
    const MALFORMED: &'static [u8] =
        br#"{"id": "chatcmpl-sim", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assis"#;

    fn respond(call: &Call, prompt: &str) -> Result<Served, Rejection> {
        openai::authorize(call)?;
        let body = call.body.and_then(Value::as_object).ok_or_else(openai::not_json)?;
        let request = ChatRequest::parse(body)?;
        let reply = reply(&request, prompt, text::system_text(call.body).as_deref());
        match request.stream {
            true => Ok(streamed(&request, reply, prompt)),
            false => Ok(answer(&request, reply)),
        }
    }

    fn prompt(call: &Call) -> Option<String> {
        text::last_user_text(call.body?.get("messages"))
    }

    fn system(call: &Call) -> Option<String> {
        text::system_text(call.body)
    }
}

/// The reply, as JSON when the request asks for it.
fn reply(request: &ChatRequest, prompt: &str, system: Option<&str>) -> text::Reply {
    // After a tool's answer the model speaks of it.
    let prompt = request.tool_answer.as_deref().unwrap_or(prompt);
    let mut reply = text::reply(request.model, prompt, request.max_tokens);
    if let Some(schema) = &request.json_schema {
        reply.text = match json_reply::asked_to_miss(prompt, system) {
            true => json_reply::NOT_JSON.to_owned(),
            false => json_reply::instance(schema, &reply.text).to_string(),
        };
        reply.tokens = text::tokens(&reply.text);
        reply.cut = false;
    }
    reply
}

/// The tool call the model makes, if it makes one: id, name, arguments.
fn tool_call(request: &ChatRequest, reply: &text::Reply) -> Option<(String, String, String)> {
    let (name, schema) = request.called_function.as_ref()?;
    let arguments = json_reply::instance(schema, &reply.text).to_string();
    Some((random_id("call_", 24), name.clone(), arguments))
}

fn answer(request: &ChatRequest, reply: text::Reply) -> Served {
    let call = tool_call(request, &reply);
    let choices: Vec<Value> = (0..request.n)
        .map(|index| {
            match &call {
                Some((id, name, arguments)) => json!({
                    "index": index,
                    "message": { "role": "assistant", "content": null, "refusal": null, "annotations": [],
                                 "tool_calls": [{"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}] },
                    "logprobs": null,
                    "finish_reason": "tool_calls",
                }),
                None => json!({
                    "index": index,
                    "message": { "role": "assistant", "content": reply.text, "refusal": null, "annotations": [] },
                    "logprobs": null,
                    "finish_reason": if reply.cut { "length" } else { "stop" },
                }),
            }
        })
        .collect();
    let completion_tokens = reply.tokens * request.n;
    let total_tokens = request.input_tokens + completion_tokens;
    let body = json!({
        "id": random_id("chatcmpl-", 29),
        "object": "chat.completion",
        "created": Utc::now().timestamp(),
        "model": request.model,
        "choices": choices,
        "usage": {
            "prompt_tokens": request.input_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": total_tokens,
        },
        "service_tier": "default",
        "system_fingerprint": null,
    });
    let limits = default_headers(
        REQUESTS_PER_MINUTE - 1,
        TOKENS_PER_MINUTE.saturating_sub(total_tokens),
        Duration::from_millis(6),
    );
    Served {
        response: (openai::request_id(), limits, Json(body)).into_response(),
        usage: Usage {
            input: request.input_tokens,
            output: completion_tokens,
        },
    }
}

/// The same answer as `chat.completion.chunk`s: each choice's role, its pieces,
/// its finish reason; then the usage when `stream_options.include_usage` asks
/// (every chunk then carries `"usage": null`); then `[DONE]`.
fn streamed(request: &ChatRequest, reply: text::Reply, prompt: &str) -> Served {
    let id = random_id("chatcmpl-", 29);
    let created = Utc::now().timestamp();
    let chunk = |choices: Value, usage: Option<Value>| {
        let mut chunk = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": request.model,
            "service_tier": "default", "system_fingerprint": null, "choices": choices,
        });
        if request.include_usage {
            chunk["usage"] = usage.unwrap_or(Value::Null);
        }
        sse::Event::data(&chunk)
    };
    let choice = |index: u64, delta: Value, finish: Option<&str>| json!([{ "index": index, "delta": delta, "logprobs": null, "finish_reason": finish }]);
    let call = tool_call(request, &reply);
    let mut events = Vec::new();
    for index in 0..request.n {
        let role = json!({"role": "assistant", "content": "", "refusal": null});
        events.push(chunk(choice(index, role, None), None));
        let finish = match &call {
            // The call's id and name first, then its arguments in pieces.
            Some((id, name, arguments)) => {
                let first = json!({"tool_calls": [{"index": 0, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]});
                events.push(chunk(choice(index, first, None), None));
                let characters: Vec<char> = arguments.chars().collect();
                for piece in characters.chunks(8) {
                    let piece: String = piece.iter().collect();
                    let delta = json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]});
                    events.push(chunk(choice(index, delta, None), None));
                }
                "tool_calls"
            }
            None => {
                for piece in sse::pieces(&reply.text) {
                    events.push(chunk(choice(index, json!({ "content": piece }), None), None));
                }
                if reply.cut {
                    "length"
                } else {
                    "stop"
                }
            }
        };
        events.push(chunk(choice(index, json!({}), Some(finish)), None));
    }
    let completion_tokens = reply.tokens * request.n;
    let total_tokens = request.input_tokens + completion_tokens;
    if request.include_usage {
        let usage = json!({
            "prompt_tokens": request.input_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": total_tokens,
        });
        events.push(chunk(json!([]), Some(usage)));
    }
    events.push(sse::Event {
        name: None,
        data: "[DONE]".into(),
    });
    let limits = default_headers(
        REQUESTS_PER_MINUTE - 1,
        TOKENS_PER_MINUTE.saturating_sub(total_tokens),
        Duration::from_millis(6),
    );
    let gap = Duration::from_millis(Asks::read(prompt).token_ms.unwrap_or(0));
    Served {
        response: (openai::request_id(), limits, sse::response(events, gap)).into_response(),
        usage: Usage {
            input: request.input_tokens,
            output: completion_tokens,
        },
    }
}
