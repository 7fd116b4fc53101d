//! `GET /v1/files/<key>?expires=&signature=`: the local store's output links.
//! The signed link is the credential (no API key), as with an S3 presigned
//! URL; with S3 configured, links point at the bucket and this route has
//! nothing to serve.

use axum::{
    body::Body,
    extract::{Path, Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use electrons_domain::storage::{content_type_of, LinkError, ObjectKey, ObjectStore, StorageError};
use serde::Deserialize;
use tokio_util::io::ReaderStream;

use crate::{
    error::{ApiError, ApiErrorBody},
    state::AppState,
};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// When the link expires (Unix seconds), as the job's output gave it.
    expires: Option<i64>,
    /// The link's signature, as the job's output gave it.
    signature: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/files/{*key}",
    operation_id = "getFile",
    tag = "files",
    summary = "Download an output file",
    description = "The local store's output links: the signed link is the credential (no API key), as with an S3 presigned URL. With S3 configured links point at the bucket and this answers 404.",
    params(
        ("key" = String, Path, description = "The file's key (it may contain `/`)"),
        LinkQuery
    ),
    responses(
        (status = 200, description = "The file, with its media type", content(("application/octet-stream"))),
        (status = 403, description = "No, or a wrong, signature (`invalid_signature`), or an expired link (`link_expired`)", body = ApiErrorBody),
        (status = 404, description = "No such file", body = ApiErrorBody),
        (status = 500, description = "The file could not be read (`storage_error`)", body = ApiErrorBody)
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(link): Query<LinkQuery>,
) -> Result<Response, ApiError> {
    let ObjectStore::Local(store) = &state.store else {
        return Err(ApiError::not_found("file"));
    };
    let key = ObjectKey::parse(&key).map_err(|_| ApiError::not_found("file"))?;
    let (Some(expires), Some(signature)) = (link.expires, link.signature) else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "invalid_signature",
            "a file link needs its `expires` and `signature`",
        ));
    };
    store
        .verify(&key, expires, &signature)
        .map_err(|refused| match refused {
            LinkError::Expired => ApiError::new(
                StatusCode::FORBIDDEN,
                "link_expired",
                "this link has expired; fetch the job again for a fresh one",
            ),
            LinkError::BadSignature => ApiError::new(
                StatusCode::FORBIDDEN,
                "invalid_signature",
                "the link's signature does not match",
            ),
        })?;
    let (file, len) = match store.open_file(&key).await {
        Ok(opened) => opened,
        Err(StorageError::NotFound) => return Err(ApiError::not_found("file")),
        Err(error) => {
            tracing::error!(%error, %key, "could not open a stored file");
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "storage_error",
                "the file could not be read",
            ));
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type_of(key.as_str()).to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
        ],
        Body::from_stream(ReaderStream::new(file)),
    )
        .into_response())
}
