//! The object stores against real backends: the S3 store against a real
//! S3-protocol server (moto, started by `deploy/s3-server.sh`; its address in
//! `DE_TEST_S3_ENDPOINT`, default `http://127.0.0.1:9000`), each test in its own
//! bucket; the local store against a scratch directory.

use std::time::Duration;

use bytes::Bytes;
use electrons_domain::{
    ids::JobId,
    storage::{ByteChunks, ObjectKey, ObjectStore, S3Store, StorageError},
};
use electrons_tests::s3_settings;
use futures::StreamExt;
use sha2::{Digest, Sha256};

const MIB: usize = 1024 * 1024;

async fn s3_store() -> ObjectStore {
    let settings = s3_settings();
    let store = S3Store::open(&settings).await.unwrap_or_else(|error| {
        panic!(
            "no S3 server at {:?} ({error}); start one with `bash deploy/s3-server.sh`",
            settings.endpoint
        )
    });
    ObjectStore::S3(store)
}

fn key(name: &str) -> ObjectKey {
    ObjectKey::output(uuid::Uuid::new_v4(), JobId::new(), "run-1", name).expect("valid key")
}

/// `total` bytes of a repeating pattern, in chunks of `chunk` bytes.
fn pattern(total: usize) -> Vec<u8> {
    (0..total).map(|i| (i % 251) as u8).collect()
}

fn chunked(content: &[u8], chunk: usize) -> ByteChunks {
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        content.chunks(chunk).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    futures::stream::iter(chunks).boxed()
}

async fn fetch(url: &str) -> (reqwest::StatusCode, Option<String>, Bytes) {
    let response = reqwest::get(url).await.expect("GET the link");
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, content_type, response.bytes().await.expect("body"))
}

#[tokio::test]
async fn s3_stores_an_output_behind_a_presigned_link_and_deletes_it() {
    let store = s3_store().await;
    let key = key("image-0.png");
    let content = pattern(300 * 1024);
    let stored = store
        .put(&key, "image/png", chunked(&content, 64 * 1024), 10 * MIB as u64)
        .await
        .expect("put");
    assert_eq!(stored.bytes, content.len() as u64);
    assert_eq!(stored.sha256, hex::encode(Sha256::digest(&content)));
    assert_eq!(stored.content_type, "image/png");

    let url = store.url(&key, Duration::from_secs(600)).await.expect("presign");
    assert!(
        url.contains("X-Amz-Signature=") && url.contains("X-Amz-Expires=600"),
        "{url}"
    );
    let (status, content_type, body) = fetch(&url).await;
    assert_eq!(status, 200);
    assert_eq!(content_type.as_deref(), Some("image/png"));
    assert_eq!(body.as_ref(), content.as_slice());

    // Without the signature the object is private.
    let bare = url.split('?').next().expect("path");
    assert_eq!(fetch(bare).await.0, 403, "unsigned GET of {bare}");
    // Read whole (an answer that carries it), but not past a limit.
    let read = store.read(&key, 10 * MIB as u64).await.expect("read");
    assert_eq!(read.as_ref(), content.as_slice());
    assert!(matches!(
        store.read(&key, 1024).await,
        Err(StorageError::TooLarge { limit: 1024 })
    ));

    store.delete(&key).await.expect("delete");
    store.delete(&key).await.expect("deleting twice is fine");
    assert_eq!(fetch(&url).await.0, 404);
}

#[tokio::test]
async fn s3_streams_a_large_output_in_parts() {
    let store = s3_store().await;
    let key = key("video.mp4");
    // Three parts of 8 MiB, the last one short.
    let content = pattern(19 * MIB + 12345);
    let stored = store
        .put(&key, "video/mp4", chunked(&content, MIB / 2), 64 * MIB as u64)
        .await
        .expect("multipart put");
    assert_eq!(stored.bytes, content.len() as u64);
    assert_eq!(stored.sha256, hex::encode(Sha256::digest(&content)));
    let (status, content_type, body) = fetch(&store.url(&key, Duration::from_secs(60)).await.expect("url")).await;
    assert_eq!(status, 200);
    assert_eq!(content_type.as_deref(), Some("video/mp4"));
    assert_eq!(body.len(), content.len());
    assert!(
        body.as_ref() == content.as_slice(),
        "the parts were reassembled in order"
    );
}

#[tokio::test]
async fn s3_refuses_an_output_over_the_cap_and_keeps_nothing() {
    let store = s3_store().await;
    for (size, limit) in [(2 * MIB, MIB), (20 * MIB, 12 * MIB)] {
        let key = key("big.bin");
        let content = pattern(size);
        let refused = store
            .put(
                &key,
                "application/octet-stream",
                chunked(&content, 256 * 1024),
                limit as u64,
            )
            .await;
        assert!(
            matches!(refused, Err(StorageError::TooLarge { limit: l }) if l == limit as u64),
            "{size} bytes over a {limit}-byte cap: {refused:?}"
        );
        let url = store.url(&key, Duration::from_secs(60)).await.expect("url");
        assert_eq!(fetch(&url).await.0, 404, "nothing stored for {size} bytes");
    }
}

#[tokio::test]
async fn s3_keeps_nothing_when_the_source_breaks_off() {
    let store = s3_store().await;
    let key = key("audio.mp3");
    let mut chunks: Vec<Result<Bytes, std::io::Error>> = pattern(9 * MIB)
        .chunks(MIB)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    chunks.push(Err(std::io::Error::other("provider closed the connection")));
    let broken = store
        .put(
            &key,
            "audio/mpeg",
            futures::stream::iter(chunks).boxed(),
            64 * MIB as u64,
        )
        .await;
    assert!(matches!(broken, Err(StorageError::Source(_))), "{broken:?}");
    let url = store.url(&key, Duration::from_secs(60)).await.expect("url");
    assert_eq!(fetch(&url).await.0, 404);
}

#[tokio::test]
async fn s3_errors_say_what_failed_but_never_the_credentials() {
    let mut settings = s3_settings();
    // Nothing listens there.
    settings.endpoint = Some("http://127.0.0.1:1".into());
    let error = match S3Store::open(&settings).await {
        Ok(_) => panic!("a store without a server opened"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("creating the bucket"), "{error}");
    assert!(!error.contains("test-secret"), "{error}");
}

#[tokio::test]
async fn the_producer_serves_local_links_until_they_expire_and_only_as_signed() {
    let app = electrons_tests::TestApp::with(electrons_tests::Options {
        worker: false,
        scheduler: false,
        webhooks: false,
        ..Default::default()
    })
    .await;
    // The same directory and public URL as the producer's: another process of the deployment.
    let store = ObjectStore::open(&app.settings.storage, &app.settings.producer.public_url)
        .await
        .expect("local store");
    let ObjectStore::Local(local) = &store else {
        panic!("tests use the local store for the producer");
    };
    let key = key("speech.mp3");
    let content = pattern(200 * 1024);
    store
        .put(&key, "audio/mpeg", chunked(&content, 32 * 1024), MIB as u64)
        .await
        .expect("put");

    let url = store.url(&key, Duration::from_secs(60)).await.expect("url");
    let (status, content_type, body) = fetch(&url).await;
    assert_eq!(status, 200, "{url}");
    assert_eq!(content_type.as_deref(), Some("audio/mpeg"));
    assert_eq!(body.as_ref(), content.as_slice());

    let refused = |url: String| async move {
        let response = reqwest::get(&url).await.expect("GET");
        let status = response.status();
        let body: serde_json::Value = response.json().await.expect("JSON error");
        (status, body["error"]["code"].as_str().unwrap_or_default().to_string())
    };
    let tampered = url.replace("signature=", "signature=00");
    assert_eq!(
        refused(tampered).await,
        (reqwest::StatusCode::FORBIDDEN, "invalid_signature".into())
    );
    let unsigned = url.split('?').next().expect("path").to_string();
    assert_eq!(
        refused(unsigned).await,
        (reqwest::StatusCode::FORBIDDEN, "invalid_signature".into())
    );
    // A link for another file does not open this one.
    let other = url.replace("speech.mp3", "other.mp3");
    assert_eq!(
        refused(other).await,
        (reqwest::StatusCode::FORBIDDEN, "invalid_signature".into())
    );
    let expired = local.url(&key, Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        refused(expired).await,
        (reqwest::StatusCode::FORBIDDEN, "link_expired".into())
    );
    let escape = format!(
        "{}/v1/files/projects/..%2F..%2Fetc/passwd",
        app.settings.producer.public_url
    );
    assert_eq!(refused(escape).await.0, reqwest::StatusCode::NOT_FOUND);

    store.delete(&key).await.expect("delete");
    assert_eq!(refused(url).await, (reqwest::StatusCode::NOT_FOUND, "not_found".into()));
    let _ = tokio::fs::remove_dir_all(&app.settings.storage.local_dir).await;
    app.stop().await;
}
