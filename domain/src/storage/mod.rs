//! Where binary outputs live: an S3-compatible bucket (`s3`) or, when none is
//! configured, a local directory (`local`). Both take a stream, so a provider's
//! download or audio never has to be held whole in memory; both hash and count
//! the bytes as they pass and stop at the size cap; both hand out links that
//! expire (presigned for S3, an HMAC-signed token for the local store).

mod key;
mod local;
pub mod output_files;
mod s3;
mod tally;

use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

pub use key::{InvalidKey, ObjectKey};
pub use local::{LinkError, LocalStore};
pub use s3::S3Store;

use crate::config::StorageSettings;

/// The content type a stored name is served with (outputs are named by their format).
pub fn content_type_of(name: &str) -> mime_guess::Mime {
    mime_guess::from_path(name).first_or_octet_stream()
}

/// A body to store: chunks as they arrive, or the error that cut it short.
pub type ByteChunks = BoxStream<'static, Result<Bytes, std::io::Error>>;

/// What was stored, as a job's `output.files[]` lists it (with its `url` added when shown).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredObject {
    pub key: String,
    pub content_type: String,
    pub bytes: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the output is larger than the {limit}-byte limit")]
    TooLarge { limit: u64 },
    #[error("reading the output failed: {0}")]
    Source(#[source] std::io::Error),
    #[error("local store: {0}")]
    Local(#[source] std::io::Error),
    /// The S3 service's error, as its code and message (never the credentials).
    #[error("object storage: {0}")]
    S3(String),
    #[error("no such object")]
    NotFound,
}

/// The configured store.
#[derive(Clone)]
pub enum ObjectStore {
    Local(LocalStore),
    S3(S3Store),
}

impl ObjectStore {
    /// Opens the store the settings name: an S3 bucket (created if missing) or the local directory.
    pub async fn open(settings: &StorageSettings, public_url: &str) -> Result<Self, StorageError> {
        Ok(match &settings.s3 {
            Some(s3) => ObjectStore::S3(S3Store::open(s3).await?),
            None => ObjectStore::Local(LocalStore::open(&settings.local_dir, public_url).await?),
        })
    }

    pub fn describe(&self) -> String {
        match self {
            ObjectStore::Local(local) => format!("local directory {}", local.root().display()),
            ObjectStore::S3(s3) => format!("S3 bucket {}", s3.bucket()),
        }
    }

    /// Streams `body` to `key`, failing with `TooLarge` (and storing nothing)
    /// past `limit` bytes.
    pub async fn put(
        &self,
        key: &ObjectKey,
        content_type: &str,
        body: ByteChunks,
        limit: u64,
    ) -> Result<StoredObject, StorageError> {
        match self {
            ObjectStore::Local(local) => local.put(key, content_type, body, limit).await,
            ObjectStore::S3(s3) => s3.put(key, content_type, body, limit).await,
        }
    }

    /// A link that fetches the object for `ttl`.
    pub async fn url(&self, key: &ObjectKey, ttl: Duration) -> Result<String, StorageError> {
        match self {
            ObjectStore::Local(local) => Ok(local.url(key, ttl)),
            ObjectStore::S3(s3) => s3.url(key, ttl).await,
        }
    }

    /// The whole object, for an answer that carries it (OpenAI's `b64_json`,
    /// a speech endpoint's audio); refused past `limit` bytes.
    pub async fn read(&self, key: &ObjectKey, limit: u64) -> Result<Bytes, StorageError> {
        match self {
            ObjectStore::Local(local) => local.read(key, limit).await,
            ObjectStore::S3(s3) => s3.read(key, limit).await,
        }
    }

    /// Deletes the object; deleting one that is already gone succeeds.
    pub async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        match self {
            ObjectStore::Local(local) => local.delete(key).await,
            ObjectStore::S3(s3) => s3.delete(key).await,
        }
    }
}
