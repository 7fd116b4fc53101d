//! The S3 store (any S3-compatible service). A body that fits in one part is
//! sent with one PUT; a larger one as a multipart upload, so at most one part
//! (8 MiB) of it is in memory. A failed or oversized upload is aborted and
//! leaves nothing behind.

use std::{sync::Arc, time::Duration};

use aws_sdk_s3::{
    config::{BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation},
    error::{DisplayErrorContext, ProvideErrorMetadata, SdkError},
    presigning::PresigningConfig,
    primitives::ByteStream,
    types::{BucketLocationConstraint, CompletedMultipartUpload, CompletedPart, CreateBucketConfiguration},
    Client,
};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use super::{tally::Tally, ByteChunks, ObjectKey, StorageError, StoredObject};
use crate::config::S3Settings;

/// S3's minimum part size is 5 MiB (except the last part).
const PART_BYTES: usize = 8 * 1024 * 1024;
/// The longest a presigned URL may live (SigV4).
const LONGEST_LINK: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Clone)]
pub struct S3Store {
    client: Client,
    bucket: Arc<str>,
}

impl S3Store {
    /// Connects and makes sure the bucket exists.
    pub async fn open(settings: &S3Settings) -> Result<Self, StorageError> {
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .force_path_style(settings.path_style)
            .credentials_provider(Credentials::new(
                settings.access_key_id.clone(),
                settings.secret_access_key.expose().to_string(),
                None,
                None,
                "electrons-settings",
            ))
            // S3-compatible servers differ in their support of the newer default
            // checksums (aws-chunked trailers); send them only where S3 requires them.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint);
        }
        let store = Self {
            client: Client::from_conf(config.build()),
            bucket: settings.bucket.as_str().into(),
        };
        store.ensure_bucket(&settings.region).await?;
        Ok(store)
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn ensure_bucket(&self, region: &str) -> Result<(), StorageError> {
        if self.client.head_bucket().bucket(&*self.bucket).send().await.is_ok() {
            return Ok(());
        }
        let mut create = self.client.create_bucket().bucket(&*self.bucket);
        // us-east-1 is the one region that must not be named.
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        match create.send().await {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_bucket_already_owned_by_you()) =>
            {
                Ok(())
            }
            Err(error) => Err(s3_error("creating the bucket", error)),
        }
    }

    pub(super) async fn put(
        &self,
        key: &ObjectKey,
        content_type: &str,
        mut body: ByteChunks,
        limit: u64,
    ) -> Result<StoredObject, StorageError> {
        let mut tally = Tally::new(limit);
        let mut part = BytesMut::new();
        let mut upload: Option<Multipart> = None;
        let result = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(StorageError::Source)?;
                tally.add(&chunk)?;
                part.extend_from_slice(&chunk);
                if part.len() >= PART_BYTES {
                    if upload.is_none() {
                        upload = Some(Multipart::start(self, key, content_type).await?);
                    }
                    if let Some(multipart) = &mut upload {
                        multipart.send_part(self, part.split().freeze()).await?;
                    }
                }
            }
            match &mut upload {
                Some(multipart) => {
                    if !part.is_empty() {
                        multipart.send_part(self, part.split().freeze()).await?;
                    }
                    multipart.complete(self).await
                }
                None => self.put_whole(key, content_type, part.split().freeze()).await,
            }
        }
        .await;
        if let (Err(_), Some(multipart)) = (&result, &upload) {
            multipart.abort(self).await;
        }
        result?;
        let (bytes, sha256) = tally.finish();
        Ok(StoredObject {
            key: key.to_string(),
            content_type: content_type.to_string(),
            bytes,
            sha256,
        })
    }

    async fn put_whole(&self, key: &ObjectKey, content_type: &str, body: Bytes) -> Result<(), StorageError> {
        self.client
            .put_object()
            .bucket(&*self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .content_length(body.len() as i64)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| s3_error("storing the output", e))?;
        Ok(())
    }

    pub(super) async fn url(&self, key: &ObjectKey, ttl: Duration) -> Result<String, StorageError> {
        let presigning = PresigningConfig::expires_in(ttl.min(LONGEST_LINK))
            .map_err(|e| StorageError::S3(format!("presigning: {e}")))?;
        let request = self
            .client
            .get_object()
            .bucket(&*self.bucket)
            .key(key.as_str())
            .presigned(presigning)
            .await
            .map_err(|e| StorageError::S3(format!("presigning: {}", DisplayErrorContext(e))))?;
        Ok(request.uri().to_string())
    }

    pub(super) async fn read(&self, key: &ObjectKey, limit: u64) -> Result<Bytes, StorageError> {
        let object = self
            .client
            .get_object()
            .bucket(&*self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| s3_error("reading the output", e))?;
        if object.content_length().is_some_and(|len| len < 0 || len as u64 > limit) {
            return Err(StorageError::TooLarge { limit });
        }
        let body = object
            .body
            .collect()
            .await
            .map_err(|e| StorageError::S3(format!("reading the output: {e}")))?;
        Ok(body.into_bytes())
    }

    pub(super) async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        self.client
            .delete_object()
            .bucket(&*self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| s3_error("deleting the output", e))?;
        Ok(())
    }
}

/// A multipart upload in progress.
struct Multipart {
    key: String,
    upload_id: String,
    parts: Vec<CompletedPart>,
}

impl Multipart {
    async fn start(store: &S3Store, key: &ObjectKey, content_type: &str) -> Result<Self, StorageError> {
        let created = store
            .client
            .create_multipart_upload()
            .bucket(&*store.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| s3_error("starting the upload", e))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| StorageError::S3("the service started an upload without an id".into()))?;
        Ok(Self {
            key: key.to_string(),
            upload_id: upload_id.to_string(),
            parts: Vec::new(),
        })
    }

    async fn send_part(&mut self, store: &S3Store, body: Bytes) -> Result<(), StorageError> {
        let number = self.parts.len() as i32 + 1;
        let sent = store
            .client
            .upload_part()
            .bucket(&*store.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number)
            .content_length(body.len() as i64)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| s3_error("uploading a part", e))?;
        self.parts.push(
            CompletedPart::builder()
                .set_e_tag(sent.e_tag().map(str::to_string))
                .part_number(number)
                .build(),
        );
        Ok(())
    }

    async fn complete(&self, store: &S3Store) -> Result<(), StorageError> {
        store
            .client
            .complete_multipart_upload()
            .bucket(&*store.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(self.parts.clone()))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| s3_error("completing the upload", e))?;
        Ok(())
    }

    async fn abort(&self, store: &S3Store) {
        let aborted = store
            .client
            .abort_multipart_upload()
            .bucket(&*store.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .send()
            .await;
        if let Err(error) = aborted {
            tracing::warn!(key = %self.key, error = %DisplayErrorContext(error), "could not abort an upload; the bucket's lifecycle rule must clean it");
        }
    }
}

/// The service's code and message, or what kept the request from reaching it.
/// Requests are signed, so no credential is in either.
fn s3_error<E, R>(doing: &str, error: SdkError<E, R>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match error.as_service_error() {
        Some(service) => StorageError::S3(format!(
            "{doing}: {}: {}",
            service.code().unwrap_or("error"),
            service
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| service.to_string())
        )),
        None => StorageError::S3(format!("{doing}: {}", DisplayErrorContext(&error))),
    }
}
