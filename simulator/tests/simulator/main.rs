//! Black-box tests: start the real simulator on a random port and talk to it
//! over HTTP the way a provider client would. One binary, one module per concept.

mod account_limits;
mod anthropic_messages;
mod control_api;
mod elevenlabs;
mod faults;
mod formats;
mod gemini_image;
mod ideogram;
mod openai_chat;
mod openai_images;
mod pexels;
mod shotstack;
mod veo;

use std::time::Duration;

use electrons_simulator::{Simulator, SimulatorHandle};
use serde_json::{json, Value};

pub async fn spawn_simulator() -> SimulatorHandle {
    Simulator::start("127.0.0.1:0".parse().expect("address"))
        .await
        .expect("simulator starts")
}

/// What a client sees of a response.
pub struct Seen {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
    /// The body as text (lossy for binary bodies).
    pub text: String,
}

impl Seen {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    async fn read(response: reqwest::Response) -> Self {
        let (status, headers) = (response.status().as_u16(), response.headers().clone());
        let bytes = response.bytes().await.expect("body").to_vec();
        Self {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            bytes,
        }
    }
}

/// Sends a request and reads the whole answer.
pub async fn send(request: reqwest::RequestBuilder) -> Seen {
    Seen::read(request.send().await.expect("send")).await
}

/// Fetches a link an answer handed out, with no credentials.
pub async fn fetch(url: &str) -> Seen {
    send(reqwest::Client::new().get(url)).await
}

pub async fn openai(sim: &SimulatorHandle, body: &Value) -> Seen {
    let request = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", sim.base_url()))
        .bearer_auth("sk-test")
        .json(body);
    Seen::read(request.send().await.expect("send")).await
}

pub async fn anthropic(sim: &SimulatorHandle, body: &Value) -> Seen {
    let request = reqwest::Client::new()
        .post(format!("{}/v1/messages", sim.base_url()))
        .header("x-api-key", "sk-ant-test")
        .header("anthropic-version", "2023-06-01")
        .json(body);
    Seen::read(request.send().await.expect("send")).await
}

/// A valid OpenAI chat request with a system prompt and `prompt` as the user turn.
pub fn chat(prompt: &str) -> Value {
    json!({
        "model": "gpt-4o-mini",
        "messages": [{ "role": "system", "content": "be brief" }, { "role": "user", "content": prompt }],
        "max_tokens": 100,
    })
}

/// A valid Anthropic Messages request with `prompt` as the user turn.
pub fn message(prompt: &str) -> Value {
    json!({
        "model": "claude-3-5-haiku-latest",
        "max_tokens": 100,
        "messages": [{ "role": "user", "content": prompt }],
    })
}

/// Polls `url` with `key` in `header` until `done` says the body is final (or 5 s pass).
pub async fn poll_until(url: &str, header: &str, key: &str, mut done: impl FnMut(&Value) -> bool) -> Value {
    let started = std::time::Instant::now();
    loop {
        let seen = send(reqwest::Client::new().get(url).header(header, key)).await;
        assert_eq!(seen.status, 200, "{}", seen.text);
        let body = seen.json();
        if done(&body) {
            return body;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "never done: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A client that gives up quickly, for hangs.
pub fn impatient() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client")
}
