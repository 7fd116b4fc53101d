//! Black-box tests: start the real simulator on a random port and talk to it
//! over HTTP the way a provider client would. One binary, one module per concept.

mod account_limits;
mod anthropic_messages;
mod control_api;
mod faults;
mod openai_chat;

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
        Self {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.expect("body"),
        }
    }
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

/// A client that gives up quickly, for hangs.
pub fn impatient() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client")
}
