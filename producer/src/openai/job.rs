//! Running one compatible call as a DE job: submitted through the native API
//! with the caller's key (and their `Idempotency-Key` and `x-request-id`),
//! then waited for — past the deployment's `Prefer: wait`, up to just under
//! the official clients' 600 s timeout, after which they would send it again.

use std::time::Duration;

use axum::body::Bytes;
use axum::{
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode},
    response::Response,
};
use electrons_domain::{db, ids::JobId, storage::ObjectKey};
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;

use super::{error, error::OpenAiError};
use crate::{
    in_process::{bearer, Api},
    state::AppState,
};

const LONGEST_WAIT: Duration = Duration::from_secs(590);
/// How often the wait re-reads the job in case a notification was lost.
const WAIT_POLL: Duration = Duration::from_secs(1);

/// A job that finished, and what its submit said that the client should hear.
pub struct Ran {
    pub job: Value,
    carried: Vec<(HeaderName, HeaderValue)>,
}

impl Ran {
    /// The job's id, and the submit's `Deprecation`, `Link` and
    /// `Idempotent-Replayed`, on the compatible answer.
    pub fn tell(self, response: &mut Response) {
        if let Some(id) = self.job["id"].as_str().and_then(|id| HeaderValue::from_str(id).ok()) {
            response.headers_mut().insert("x-request-id", id.clone());
            response.headers_mut().insert("x-de-job-id", id);
        }
        response.headers_mut().extend(self.carried);
    }
}

pub async fn run(state: &AppState, api: &Api, headers: &HeaderMap, submit: &Value) -> Result<Ran, OpenAiError> {
    let wait = state.settings.producer.max_wait.min(LONGEST_WAIT);
    let Ran { mut job, carried } = self::submit(api, headers, submit, Some(wait)).await?;
    let key = bearer(headers);
    let id = job["id"].as_str().unwrap_or_default().to_owned();
    let uuid = id.parse::<JobId>().ok().map(|id| id.0);
    let deadline = tokio::time::Instant::now() + LONGEST_WAIT;
    let mut finished = state.finished.subscribe();
    while !terminal(&job) {
        if tokio::time::Instant::now() >= deadline {
            return Err(OpenAiError {
                status: StatusCode::GATEWAY_TIMEOUT,
                code: "job_still_running".into(),
                message: format!(
                    "the job {id} has not finished yet; it keeps running, and GET /v1/jobs/{id} reads it when it does"
                ),
                param: None,
                final_answer: true,
            });
        }
        // Every finished job is announced: read ours only when it is the one
        // (or a notice may have been missed), so waiting requests do not all
        // read the database on every finish.
        let ours = match tokio::time::timeout(WAIT_POLL, finished.recv()).await {
            Ok(Ok(finished)) => Some(finished) == uuid,
            Ok(Err(RecvError::Lagged(_))) | Err(_) => true,
            // The listener is gone: read once a second.
            Ok(Err(RecvError::Closed)) => {
                tokio::time::sleep(WAIT_POLL).await;
                true
            }
        };
        if ours {
            let current = api.get(key, &format!("/v1/jobs/{id}")).await;
            if current.ok() {
                job = current.body;
            }
        }
    }
    Ok(Ran { job, carried })
}

/// Submits the job through the native API with the caller's key, holding
/// the submit open up to `wait` (`Prefer: wait`); the job as it then is.
pub async fn submit(
    api: &Api,
    headers: &HeaderMap,
    submit: &Value,
    wait: Option<Duration>,
) -> Result<Ran, OpenAiError> {
    let key = bearer(headers);
    let mut passed = Vec::new();
    if let Some(wait) = wait {
        let prefer = HeaderValue::from_str(&format!("wait={}", wait.as_secs().max(1)));
        passed.push((
            HeaderName::from_static("prefer"),
            prefer.unwrap_or(HeaderValue::from_static("wait=1")),
        ));
    }
    for name in ["idempotency-key", "x-request-id"] {
        if let Some(value) = headers.get(name) {
            passed.push((HeaderName::from_static(name), value.clone()));
        }
    }
    let answer = api.call(key, Method::POST, "/v1/jobs", &passed, Some(submit)).await;
    if !answer.ok() {
        return Err(error::from_native(answer.status, &answer.body));
    }
    let carried = ["deprecation", "link", "idempotent-replayed"]
        .into_iter()
        .filter_map(|name| {
            answer
                .headers
                .get(name)
                .map(|v| (HeaderName::from_static(name), v.clone()))
        })
        .collect();
    Ok(Ran {
        job: answer.body,
        carried,
    })
}

fn terminal(job: &Value) -> bool {
    matches!(job["status"].as_str(), Some("succeeded" | "failed" | "canceled"))
}

/// A job that did not succeed, as OpenAI's error.
pub fn succeeded(job: &Value) -> Result<(), OpenAiError> {
    if job["status"] == "succeeded" {
        return Ok(());
    }
    let id = job["id"].as_str().unwrap_or_default();
    let failure = &job["error"];
    let code = failure["code"].as_str().unwrap_or("job_failed");
    let status = match (job["status"].as_str(), code) {
        (Some("canceled"), _) => StatusCode::CONFLICT,
        (_, "provider_rate_limited") => StatusCode::TOO_MANY_REQUESTS,
        (_, "invalid_input" | "provider_request_invalid" | "provider_refused") => StatusCode::BAD_REQUEST,
        _ => StatusCode::BAD_GATEWAY,
    };
    Err(OpenAiError {
        status,
        code: code.to_owned(),
        message: format!(
            "{} (job {id})",
            failure["message"].as_str().unwrap_or("the job did not succeed")
        ),
        param: None,
        // The job ran (and DE retried what could be retried): sending the
        // request again would be another job, and another bill.
        final_answer: true,
    })
}

/// A finished job's files as stored (the job view has links, the row keys),
/// read whole for an answer that carries them, `limit` bytes in all.
pub async fn stored_files(state: &AppState, view: &Value, limit: u64) -> Result<Vec<(String, Bytes)>, OpenAiError> {
    let unavailable = |message: String| OpenAiError {
        status: StatusCode::BAD_GATEWAY,
        code: "output_unavailable".into(),
        message,
        param: None,
        final_answer: true,
    };
    let id: JobId = view["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| unavailable("the job has no id".into()))?;
    let row = db::jobs::get_any(&state.pool, id)
        .await
        .map_err(|e| unavailable(format!("reading the job failed: {e}")))?
        .ok_or_else(|| unavailable(format!("the job {id} is gone")))?;
    let output = row.output.map(|output| output.0).unwrap_or_default();
    let mut left = limit;
    let mut files = Vec::new();
    for file in output["files"].as_array().into_iter().flatten() {
        let key = file["key"]
            .as_str()
            .and_then(|k| ObjectKey::parse(k).ok())
            .ok_or_else(|| unavailable(format!("a file of job {id} is no longer stored")))?;
        let bytes = state
            .store
            .read(&key, left)
            .await
            .map_err(|e| unavailable(format!("reading a file of job {id} failed: {e}")))?;
        left = left.saturating_sub(bytes.len() as u64);
        let content_type = file["content_type"].as_str().unwrap_or("application/octet-stream");
        files.push((content_type.to_owned(), bytes));
    }
    Ok(files)
}
