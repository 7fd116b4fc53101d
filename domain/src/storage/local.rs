//! The local store: files under one directory, written to a temporary name and
//! renamed into place when complete, so a reader never sees half a file. Links
//! are served by the producer (`GET /v1/files/<key>?expires=&signature=`), signed
//! with a key kept in the directory, so every process sharing the directory
//! signs and checks alike.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::AsyncWriteExt;

use super::{tally::Tally, ByteChunks, ObjectKey, StorageError, StoredObject};

const SIGNING_KEY_FILE: &str = ".signing-key";

#[derive(Clone)]
pub struct LocalStore {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    public_url: String,
    signing_key: Vec<u8>,
}

/// Why a local link was refused.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum LinkError {
    #[error("the link has expired")]
    Expired,
    #[error("the link's signature does not match")]
    BadSignature,
}

impl LocalStore {
    pub async fn open(root: &Path, public_url: &str) -> Result<Self, StorageError> {
        tokio::fs::create_dir_all(root).await.map_err(StorageError::Local)?;
        let signing_key = signing_key(root).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                root: root.to_path_buf(),
                public_url: public_url.trim_end_matches('/').to_string(),
                signing_key,
            }),
        })
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    pub(super) async fn put(
        &self,
        key: &ObjectKey,
        content_type: &str,
        mut body: ByteChunks,
        limit: u64,
    ) -> Result<StoredObject, StorageError> {
        let path = self.path(key);
        let dir = path.parent().expect("keys have a directory");
        tokio::fs::create_dir_all(dir).await.map_err(StorageError::Local)?;
        let partial = dir.join(format!(".{}.part", uuid::Uuid::new_v4().simple()));
        let written = async {
            let mut file = tokio::fs::File::create(&partial).await.map_err(StorageError::Local)?;
            let mut tally = Tally::new(limit);
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(StorageError::Source)?;
                tally.add(&chunk)?;
                file.write_all(&chunk).await.map_err(StorageError::Local)?;
            }
            file.sync_all().await.map_err(StorageError::Local)?;
            tokio::fs::rename(&partial, &path).await.map_err(StorageError::Local)?;
            Ok(tally.finish())
        }
        .await;
        match written {
            Ok((bytes, sha256)) => Ok(StoredObject {
                key: key.to_string(),
                content_type: content_type.to_string(),
                bytes,
                sha256,
            }),
            Err(error) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(error)
            }
        }
    }

    /// `<public_url>/v1/files/<key>?expires=<unix seconds>&signature=<hex HMAC>`.
    pub fn url(&self, key: &ObjectKey, ttl: Duration) -> String {
        let expires = Utc::now().timestamp() + ttl.as_secs() as i64;
        format!(
            "{}/v1/files/{key}?expires={expires}&signature={}",
            self.inner.public_url,
            self.signature(key, expires)
        )
    }

    /// Checks a link's expiry and signature.
    pub fn verify(&self, key: &ObjectKey, expires: i64, signature: &str) -> Result<(), LinkError> {
        let given = hex::decode(signature).map_err(|_| LinkError::BadSignature)?;
        let mut mac = self.mac();
        mac.update(message(key, expires).as_bytes());
        mac.verify_slice(&given).map_err(|_| LinkError::BadSignature)?;
        if Utc::now().timestamp() > expires {
            return Err(LinkError::Expired);
        }
        Ok(())
    }

    /// The stored file, for serving.
    pub async fn open_file(&self, key: &ObjectKey) -> Result<(tokio::fs::File, u64), StorageError> {
        match tokio::fs::File::open(self.path(key)).await {
            Ok(file) => {
                let len = file.metadata().await.map_err(StorageError::Local)?.len();
                Ok((file, len))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StorageError::NotFound),
            Err(e) => Err(StorageError::Local(e)),
        }
    }

    pub(super) async fn read(&self, key: &ObjectKey, limit: u64) -> Result<Bytes, StorageError> {
        let (_, len) = self.open_file(key).await?;
        if len > limit {
            return Err(StorageError::TooLarge { limit });
        }
        match tokio::fs::read(self.path(key)).await {
            Ok(bytes) => Ok(Bytes::from(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StorageError::NotFound),
            Err(e) => Err(StorageError::Local(e)),
        }
    }

    pub(super) async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StorageError::Local(e)),
            _ => Ok(()),
        }
    }

    fn path(&self, key: &ObjectKey) -> PathBuf {
        // `ObjectKey` admits no `..` and no absolute paths, so this stays under the root.
        self.inner.root.join(key.as_str())
    }

    fn signature(&self, key: &ObjectKey, expires: i64) -> String {
        let mut mac = self.mac();
        mac.update(message(key, expires).as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.inner.signing_key).expect("HMAC takes any key length")
    }
}

fn message(key: &ObjectKey, expires: i64) -> String {
    format!("{key}\n{expires}")
}

/// The directory's signing key, created (32 random bytes, owner-only) on first
/// use. It is written under a temporary name and linked into place, so a process
/// starting alongside reads either no key or a whole one, and the first link wins.
async fn signing_key(root: &Path) -> Result<Vec<u8>, StorageError> {
    let path = root.join(SIGNING_KEY_FILE);
    match tokio::fs::read(&path).await {
        Ok(existing) => return Ok(existing),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(StorageError::Local(e)),
        Err(_) => {}
    }
    let fresh: [u8; 32] = rand::random();
    let staged = root.join(format!("{SIGNING_KEY_FILE}.{}", uuid::Uuid::new_v4().simple()));
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let linked = async {
        let mut file = options.open(&staged).await?;
        file.write_all(&fresh).await?;
        file.sync_all().await?;
        tokio::fs::hard_link(&staged, &path).await
    }
    .await;
    let _ = tokio::fs::remove_file(&staged).await;
    match linked {
        Ok(()) => Ok(fresh.to_vec()),
        // Another process linked its key first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            tokio::fs::read(&path).await.map_err(StorageError::Local)
        }
        Err(e) => Err(StorageError::Local(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::JobId;

    fn chunks(parts: Vec<&'static [u8]>) -> ByteChunks {
        futures::stream::iter(parts.into_iter().map(|p| Ok(bytes::Bytes::from_static(p)))).boxed()
    }

    fn scratch() -> PathBuf {
        std::env::temp_dir().join(format!("de-local-store-{}", uuid::Uuid::new_v4().simple()))
    }

    #[tokio::test]
    async fn stores_hashes_links_and_deletes() {
        let root = scratch();
        let store = LocalStore::open(&root, "http://127.0.0.1:8080/").await.expect("open");
        let key = ObjectKey::output(uuid::Uuid::new_v4(), JobId::new(), "run-1", "a.txt").expect("key");
        let stored = store
            .put(&key, "text/plain", chunks(vec![b"hello ", b"world"]), 1024)
            .await
            .expect("put");
        assert_eq!(stored.bytes, 11);
        assert_eq!(
            stored.sha256,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(
            tokio::fs::read(root.join(key.as_str())).await.expect("file"),
            b"hello world"
        );
        assert_eq!(store.read(&key, 11).await.expect("read").as_ref(), b"hello world");
        assert!(matches!(
            store.read(&key, 10).await,
            Err(StorageError::TooLarge { limit: 10 })
        ));

        let url = store.url(&key, Duration::from_secs(60));
        assert!(url.starts_with(&format!("http://127.0.0.1:8080/v1/files/{key}?expires=")));
        let query: std::collections::HashMap<String, String> =
            url::Url::parse(&url).expect("url").query_pairs().into_owned().collect();
        let expires: i64 = query["expires"].parse().expect("expires");
        assert_eq!(store.verify(&key, expires, &query["signature"]), Ok(()));
        assert_eq!(
            store.verify(&key, expires + 1, &query["signature"]),
            Err(LinkError::BadSignature)
        );
        let other = ObjectKey::output(uuid::Uuid::new_v4(), JobId::new(), "run-1", "a.txt").expect("key");
        assert_eq!(
            store.verify(&other, expires, &query["signature"]),
            Err(LinkError::BadSignature)
        );
        let past = Utc::now().timestamp() - 1;
        assert_eq!(
            store.verify(&key, past, &store.signature(&key, past)),
            Err(LinkError::Expired)
        );

        // A second process on the same directory signs alike.
        let again = LocalStore::open(&root, "http://127.0.0.1:8080").await.expect("reopen");
        assert_eq!(again.verify(&key, expires, &query["signature"]), Ok(()));

        store.delete(&key).await.expect("delete");
        store.delete(&key).await.expect("deleting twice is fine");
        assert!(matches!(store.open_file(&key).await, Err(StorageError::NotFound)));
        let _ = tokio::fs::remove_dir_all(&root).await;
    }

    #[tokio::test]
    async fn an_output_over_the_limit_or_cut_short_leaves_nothing() {
        let root = scratch();
        let store = LocalStore::open(&root, "http://127.0.0.1:8080").await.expect("open");
        let key = ObjectKey::output(uuid::Uuid::new_v4(), JobId::new(), "run-1", "big.bin").expect("key");
        let too_large = store
            .put(&key, "application/octet-stream", chunks(vec![b"12345", b"67890"]), 8)
            .await;
        assert!(matches!(too_large, Err(StorageError::TooLarge { limit: 8 })));

        let broken: ByteChunks = futures::stream::iter(vec![
            Ok(bytes::Bytes::from_static(b"partial")),
            Err(std::io::Error::other("connection reset")),
        ])
        .boxed();
        let cut = store.put(&key, "application/octet-stream", broken, 1024).await;
        assert!(matches!(cut, Err(StorageError::Source(_))));

        let dir = root.join(key.as_str()).parent().expect("dir").to_path_buf();
        let mut left = tokio::fs::read_dir(&dir).await.expect("dir exists");
        assert!(left.next_entry().await.expect("read").is_none(), "nothing left behind");
        let _ = tokio::fs::remove_dir_all(&root).await;
    }
}
