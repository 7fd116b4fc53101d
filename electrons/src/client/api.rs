//! The HTTP side of the client commands: one authenticated request, its JSON
//! answer, and an error that says what DE said.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::ClientArgs;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no API key: set DE_API_KEY or pass --api-key")]
    NoKey,
    #[error("cannot reach DE at {url}: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    /// DE's own error: `{"error": {"code", "message", "field"?}}`.
    #[error("{code}: {message}{} (HTTP {status})", field.as_ref().map(|f| format!(" [field: {f}]")).unwrap_or_default())]
    Api {
        status: u16,
        code: String,
        message: String,
        field: Option<String>,
    },
    #[error("DE answered HTTP {status} with a body that is not JSON: {excerpt}")]
    NotJson { status: u16, excerpt: String },
    #[error("{0}")]
    Usage(String),
}

pub struct Api {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(args: &ClientArgs) -> Result<Self, ClientError> {
        let key = args
            .api_key
            .clone()
            .filter(|k| !k.is_empty())
            .ok_or(ClientError::NoKey)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("electrons-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| ClientError::Unreachable {
                url: args.url.clone(),
                source,
            })?;
        Ok(Self {
            base: args.url.trim_end_matches('/').to_owned(),
            key,
            http,
        })
    }

    pub async fn get(&self, path: &str) -> Result<Value, ClientError> {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        self.send(Method::POST, path, Some(body), &[]).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, ClientError> {
        self.send(Method::DELETE, path, None, &[]).await
    }

    /// GET of a body that is not JSON (a CSV report).
    pub async fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let response = self
            .request(Method::GET, path)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| self.unreachable(e))?;
        match status.is_success() {
            true => Ok(text),
            false => Err(api_error(status, &text)),
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, String)],
    ) -> Result<Value, ClientError> {
        let mut request = self.request(method, path);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| self.unreachable(e))?;
        if !status.is_success() {
            return Err(api_error(status, &text));
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|_| ClientError::NotJson {
            status: status.as_u16(),
            excerpt: excerpt(&text),
        })
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key)
    }

    fn unreachable(&self, source: reqwest::Error) -> ClientError {
        ClientError::Unreachable {
            url: self.base.clone(),
            source,
        }
    }
}

fn api_error(status: StatusCode, text: &str) -> ClientError {
    let body: Value = match serde_json::from_str(text) {
        Ok(body) => body,
        Err(_) => {
            return ClientError::NotJson {
                status: status.as_u16(),
                excerpt: excerpt(text),
            }
        }
    };
    let error = &body["error"];
    let field = |name: &str| error[name].as_str().map(str::to_owned);
    ClientError::Api {
        status: status.as_u16(),
        code: field("code").unwrap_or_else(|| "unknown".into()),
        message: field("message").unwrap_or_else(|| body.to_string()),
        field: field("field"),
    }
}

fn excerpt(text: &str) -> String {
    text.chars().take(200).collect()
}
