//! A provider's binary outputs on their way into our storage: links it returned
//! (copied, so they outlive the provider's expiry), bytes it sent inline, or a
//! response body to stream. Each lands under the job's key prefix, counted,
//! hashed and capped; if one fails, those already stored are deleted again.

use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use electrons_domain::{
    answer::{Answer, AnswerFile, FileSource},
    db::{self, jobs::Fence},
    job::JobError,
    secret::Secret,
    storage::{output_files, ByteChunks, ObjectKey, ObjectStore, StorageError, StoredObject},
};
use futures::{StreamExt, TryStreamExt};
use reqwest::Client;
use serde_json::{Map, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::download;

/// What a call produced: its answer, to be committed before anything is copied
/// (the files' sources, what else the provider said), and the body still
/// arriving when the answer is the file itself (speech).
pub struct Outputs {
    pub answer: Answer,
    pub stream: Option<reqwest::Response>,
}

impl Outputs {
    /// Outputs that are all in the answer (links, inline bytes).
    pub fn answered(answer: Answer) -> Self {
        Self { answer, stream: None }
    }
}

/// An output behind a link anyone holding it may fetch.
pub fn link(name: String, content_type: impl Into<String>, url: String) -> AnswerFile {
    link_until(name, content_type, url, None)
}

/// An output behind a link the provider says stops working at `expires_at`.
pub fn expiring_link(
    name: String,
    content_type: impl Into<String>,
    url: String,
    expires_at: DateTime<Utc>,
) -> AnswerFile {
    link_until(name, content_type, url, Some(expires_at))
}

fn link_until(
    name: String,
    content_type: impl Into<String>,
    url: String,
    expires_at: Option<DateTime<Utc>>,
) -> AnswerFile {
    AnswerFile {
        name,
        content_type: content_type.into(),
        source: FileSource::Link {
            url,
            key_header: None,
            expires_at,
        },
    }
}

/// One file on its way into storage.
pub struct OutputSource {
    /// The file's name under the job (`image-1.png`).
    pub name: String,
    pub content_type: String,
    pub body: SourceBody,
}

pub enum SourceBody {
    /// A link to fetch, with the header that authorizes it if it needs one.
    Url {
        url: String,
        auth: Option<(String, Secret)>,
    },
    Bytes(Bytes),
    /// An answer still being received.
    Stream(reqwest::Response),
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("the provider's output at {host} answered {status}; nothing was stored")]
    Gone { host: String, status: u16 },
    #[error("the provider's link to the output at {host} expired at {at}; nothing was stored")]
    Expired { host: String, at: DateTime<Utc> },
    /// The provider's answer was the file itself and it could not be stored as
    /// it arrived: there is nothing left to copy again.
    #[error("the provider's answer could not be stored as it arrived and cannot be fetched again: {0}")]
    NotKept(String),
    #[error("the provider's output at {host} could not be fetched: {reason}")]
    Unavailable {
        host: String,
        reason: String,
        retryable: bool,
    },
    #[error("the provider's output is larger than the {limit}-byte limit (DE_OUTPUT_MAX_BYTES); nothing was stored")]
    TooLarge { limit: u64 },
    #[error("storing the output failed: {0}")]
    Storage(String),
    #[error("the provider's output has an unusable name: {0}")]
    BadName(String),
    /// The job was canceled or taken over while its outputs were stored.
    #[error("the job was canceled or taken over while its outputs were stored")]
    Lost,
}

impl OutputError {
    pub fn retryable(&self) -> bool {
        match self {
            Self::Unavailable { retryable, .. } => *retryable,
            Self::Storage(_) => true,
            Self::Gone { .. }
            | Self::Expired { .. }
            | Self::NotKept(_)
            | Self::TooLarge { .. }
            | Self::BadName(_)
            | Self::Lost => false,
        }
    }

    /// The provider no longer has the output (or never kept it): only a new
    /// generation could produce it.
    pub fn is_gone(&self) -> bool {
        matches!(self, Self::Gone { .. } | Self::Expired { .. } | Self::NotKept(_))
    }

    pub fn to_job_error(&self) -> JobError {
        let code = match self {
            Self::Gone { .. } | Self::Expired { .. } | Self::NotKept(_) => "output_unavailable",
            Self::Unavailable { .. } => "output_download_failed",
            Self::TooLarge { .. } => "output_too_large",
            Self::Storage(_) | Self::BadName(_) | Self::Lost => "storage_error",
        };
        JobError {
            code: code.into(),
            message: self.to_string(),
            provider_status: match self {
                Self::Gone { status, .. } => Some(*status),
                _ => None,
            },
            retryable: self.retryable(),
            ..JobError::default()
        }
    }

    /// A failed store of a body coming from `host`: the source breaking off may
    /// pass (retryable), the cap will not.
    pub(crate) fn from_storage(error: StorageError, host: &str) -> Self {
        match error {
            StorageError::TooLarge { limit } => Self::TooLarge { limit },
            StorageError::Source(e) => Self::Unavailable {
                host: host.to_string(),
                reason: format!("the transfer broke off: {e}"),
                retryable: true,
            },
            other => Self::Storage(other.to_string()),
        }
    }
}

/// Where outputs go and how big and slow they may be.
pub struct Destination<'a> {
    pub store: &'a ObjectStore,
    pub http: &'a Client,
    /// For links that need the provider's key: redirects are followed by hand,
    /// so the key never goes to another host.
    pub http_unredirected: &'a Client,
    pub pool: &'a PgPool,
    pub project: Uuid,
    /// The run storing them; its lease is renewed before each file.
    pub run: Fence,
    pub max_bytes: u64,
    pub download_timeout: Duration,
    pub lease_margin: Duration,
}

/// What was stored, and how long it took.
pub struct Stored {
    pub files: Vec<StoredObject>,
    pub took: Duration,
}

impl Stored {
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// The job's `output`: `files`, beside the provider's details.
    pub fn output(&self, details: Map<String, Value>) -> Value {
        let mut output = Map::new();
        output.insert(
            "files".into(),
            Value::Array(self.files.iter().map(output_files::file_entry).collect()),
        );
        for (name, value) in details {
            output.entry(name).or_insert(value);
        }
        Value::Object(output)
    }
}

/// Stores every source in turn, under a run name of its own, renewing the
/// job's lease before each (so a slow store is never taken for a dead worker);
/// on the first failure deletes what this run stored.
pub async fn store_all(to: &Destination<'_>, sources: Vec<OutputSource>) -> Result<Stored, OutputError> {
    let started = Instant::now();
    let run = Uuid::new_v4().simple().to_string()[..12].to_string();
    let mut files = Vec::with_capacity(sources.len());
    for source in sources {
        let stored = match renew_lease(to).await {
            Ok(()) => tokio::time::timeout(to.download_timeout, store_one(to, &run, source))
                .await
                .unwrap_or_else(|_| {
                    Err(OutputError::Unavailable {
                        host: "storage".into(),
                        reason: format!("storing one output took longer than {:?}", to.download_timeout),
                        retryable: true,
                    })
                }),
            Err(error) => Err(error),
        };
        match stored {
            Ok(file) => files.push(file),
            Err(error) => {
                discard(to.store, &files).await;
                return Err(error);
            }
        }
    }
    Ok(Stored {
        files,
        took: started.elapsed(),
    })
}

async fn renew_lease(to: &Destination<'_>) -> Result<(), OutputError> {
    let lease = to.download_timeout + to.lease_margin;
    match db::jobs::extend_lease(to.pool, to.run, lease).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(OutputError::Lost),
        Err(error) => Err(OutputError::Storage(format!(
            "could not renew the job's lease: {error}"
        ))),
    }
}

async fn store_one(to: &Destination<'_>, run: &str, source: OutputSource) -> Result<StoredObject, OutputError> {
    let key = ObjectKey::output(to.project, to.run.id, run, &source.name).map_err(|e| OutputError::BadName(e.0))?;
    match source.body {
        SourceBody::Url { url, auth } => {
            download::copy(
                to,
                &key,
                &url,
                auth.as_ref().map(|(h, k)| (h.as_str(), k)),
                &source.content_type,
            )
            .await
        }
        SourceBody::Bytes(bytes) => {
            let body: ByteChunks = futures::stream::once(async move { Ok(bytes) }).boxed();
            to.store
                .put(&key, &source.content_type, body, to.max_bytes)
                .await
                .map_err(|e| OutputError::from_storage(e, "the provider"))
        }
        SourceBody::Stream(response) => {
            let body: ByteChunks = response.bytes_stream().map_err(std::io::Error::other).boxed();
            to.store
                .put(&key, &source.content_type, body, to.max_bytes)
                .await
                .map_err(|e| OutputError::from_storage(e, "the provider"))
        }
    }
}

/// Deletes files a failed run stored, so nothing is left that no job lists.
pub async fn discard(store: &ObjectStore, files: &[StoredObject]) {
    for file in files {
        if let Ok(key) = ObjectKey::parse(&file.key) {
            if let Err(error) = store.delete(&key).await {
                tracing::warn!(%error, %key, "could not delete a partly stored output");
            }
        }
    }
}
