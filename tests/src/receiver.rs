//! A webhook receiver for tests: a real HTTP server on 127.0.0.1 that answers
//! as scripted (status, Retry-After, Location, delay) and verifies every
//! delivery with `standardwebhooks`, the Standard Webhooks project's own
//! library, not with DE's signing code.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use electrons_domain::Shutdown;
use serde_json::Value;
use standardwebhooks::Webhook;
use tokio::net::TcpListener;

/// How the receiver answers one request.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub location: Option<String>,
    /// Held this long before answering (a slow or hung receiver).
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            retry_after: None,
            location: None,
            delay: Duration::ZERO,
        }
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn location(mut self, location: &str) -> Self {
        self.location = Some(location.to_string());
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub json: Value,
    /// Verified by `standardwebhooks` under one of the configured secrets.
    pub verified: bool,
    pub at: Instant,
    pub answered: u16,
}

impl Received {
    pub fn webhook_id(&self) -> String {
        self.header("webhook-id")
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Reply>,
    requests: Vec<Received>,
    secrets: Vec<String>,
}

#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    stop: Shutdown,
}

impl Receiver {
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0".parse().expect("addr")).await
    }

    /// On a given address: a receiver that was down comes back on the same port.
    pub async fn start_on(addr: SocketAddr) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind receiver");
        let addr = listener.local_addr().expect("addr");
        let inner = Arc::new(Mutex::new(Inner::default()));
        let stop = Shutdown::new();
        let app = axum::Router::new().fallback(receive).with_state(inner.clone());
        let stopped = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stopped.cancelled().await })
                .await;
        });
        Self { addr, inner, stop }
    }

    /// A free port nobody listens on yet: a receiver that is down.
    pub async fn reserve_port() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        listener.local_addr().expect("addr")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers in this order, then 204 for good.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.lock().script.extend(replies);
    }

    pub fn verify_with(&self, secrets: &[String]) {
        self.lock().secrets = secrets.to_vec();
    }

    pub fn received(&self) -> Vec<Received> {
        self.lock().requests.clone()
    }

    /// Waits until at least `count` requests arrived; panics after `timeout`.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver got {} of {count} requests in {timeout:?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn stop(&self) {
        self.stop.cancel();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Whether `standardwebhooks` accepts this body and these headers under `secret`.
pub fn verifies(secret: &str, body: &[u8], headers: &HeaderMap) -> bool {
    Webhook::new(secret).is_ok_and(|hook| hook.verify(body, headers).is_ok())
}

async fn receive(State(inner): State<Arc<Mutex<Inner>>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let reply = {
        let mut inner = inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let reply = inner.script.pop_front().unwrap_or_else(|| Reply::status(204));
        let verified = inner.secrets.iter().any(|secret| verifies(secret, &body, &headers));
        inner.requests.push(Received {
            path: uri.path().to_string(),
            json: serde_json::from_slice(&body).unwrap_or(Value::Null),
            headers,
            body,
            verified,
            at: Instant::now(),
            answered: reply.status,
        });
        reply
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, "receiver says hi").into_response();
    if let Some(seconds) = reply.retry_after {
        response
            .headers_mut()
            .insert("retry-after", seconds.to_string().parse().expect("header"));
    }
    if let Some(location) = reply.location {
        response
            .headers_mut()
            .insert("location", location.parse().expect("header"));
    }
    response
}
