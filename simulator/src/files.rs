//! The output files answers link to, and `GET /_sim/files/{id}.{ext}`, which
//! serves them without authentication as a provider's CDN serves its signed
//! links. A file is only a kind and an optional length (`media.rs` makes the
//! bytes); `[[sim:file_404]]` links to an id that was never stored, and
//! `[[sim:file_500=N]]` / `[[sim:file_hang=N]]` make its first requests fail.

use axum::{
    extract::{Path, State},
    http::{
        header::{CONTENT_LENGTH, CONTENT_TYPE},
        StatusCode,
    },
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use std::sync::{
    atomic::{AtomicU32, AtomicU64, Ordering},
    Arc,
};

use serde_json::json;

use crate::{controls::Controls, directives::FileAsk, media::Media, recent::Recent};

/// How many files stay reachable; older links answer 404, like expired ones.
const KEPT: usize = 200_000;

/// A file an answer linked to.
#[derive(Clone, Debug)]
pub struct File {
    pub media: Media,
    /// Exactly this many bytes instead of the file's own length.
    pub size: Option<u64>,
    /// How its first requests go wrong, if they do.
    pub trouble: Option<Arc<Trouble>>,
}

/// Requests of a file that fail before it is served.
#[derive(Debug)]
pub struct Trouble {
    hang: bool,
    /// Requests still to fail; `None`: every one.
    left: Option<AtomicU32>,
}

impl Trouble {
    /// Whether this request is one that goes wrong (and counts it).
    fn strikes(&self) -> bool {
        match &self.left {
            None => true,
            Some(left) => left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok(),
        }
    }
}

impl File {
    /// The file as a `200` with its content type and length.
    pub fn response(&self) -> Response {
        let (length, body) = self.media.body(self.size);
        (
            [
                (CONTENT_TYPE, self.media.content_type().to_string()),
                (CONTENT_LENGTH, length.to_string()),
            ],
            body,
        )
            .into_response()
    }
}

pub struct Files {
    stored: Recent<File>,
    /// Requests for files, served or not.
    requests: AtomicU64,
}

impl Default for Files {
    fn default() -> Self {
        Self {
            stored: Recent::new(KEPT),
            requests: AtomicU64::new(0),
        }
    }
}

impl Files {
    /// Stores a new `media` file as `ask` wants it and returns its id; for
    /// [`FileAsk::Missing`] the id is simply never stored.
    pub fn publish(&self, media: Media, ask: FileAsk) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let trouble = |hang, left: Option<u32>| {
            Some(Arc::new(Trouble {
                hang,
                left: left.map(AtomicU32::new),
            }))
        };
        let (size, trouble) = match ask {
            FileAsk::Missing => return id,
            FileAsk::Normal => (None, None),
            FileAsk::Bytes(size) => (Some(size), None),
            FileAsk::Failing(times) => (None, trouble(false, times)),
            FileAsk::Hanging(times) => (None, trouble(true, Some(times))),
        };
        self.stored.insert(id.clone(), File { media, size, trouble });
        id
    }

    /// How many times files were asked for, whatever the answer.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// [`Files::publish`], as a link under `/_sim/files` on `base`.
    pub fn link(&self, base: &str, media: Media, ask: FileAsk) -> String {
        let id = self.publish(media, ask);
        format!("{base}/_sim/files/{id}.{}", media.extension())
    }

    pub fn get(&self, id: &str) -> Option<File> {
        self.stored.get(id)
    }
}

pub fn router() -> Router<Controls> {
    Router::new().route("/_sim/files/{name}", get(serve))
}

async fn serve(State(controls): State<Controls>, Path(name): Path<String>) -> Response {
    controls.files().requests.fetch_add(1, Ordering::Relaxed);
    let file = name
        .rsplit_once('.')
        .and_then(|(id, extension)| Some((controls.files().get(id)?, extension)))
        .filter(|(file, extension)| file.media.extension() == *extension);
    match file {
        Some((file, _)) => match file.trouble.as_deref().filter(|t| t.strikes()) {
            Some(trouble) if trouble.hang => std::future::pending().await,
            Some(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": "InternalError", "message": "We encountered an internal error. Please try again." })),
            )
                .into_response(),
            None => file.response(),
        },
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "NoSuchKey", "message": "The specified key does not exist." })),
        )
            .into_response(),
    }
}
