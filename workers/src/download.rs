//! Copying a provider's output link into our storage: streamed straight from the
//! response into the store (never held whole), stopped at the size cap, and
//! classified when it fails — a 401/403/404/410 will not come back, a 5xx or a
//! broken connection may.

use electrons_domain::{
    secret::Secret,
    storage::{ByteChunks, ObjectKey, StoredObject},
};
use futures::{StreamExt, TryStreamExt};

use crate::outputs::{Destination, OutputError};

const MAX_REDIRECTS: usize = 10;

pub async fn copy(
    to: &Destination<'_>,
    key: &ObjectKey,
    url: &str,
    auth: Option<(&str, &Secret)>,
    expected_type: &str,
) -> Result<StoredObject, OutputError> {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "an unreadable address".into());
    let unavailable = |reason: String, retryable: bool| OutputError::Unavailable {
        host: host.clone(),
        reason,
        retryable,
    };
    let response = fetch(to, url, auth).await.map_err(|reason| unavailable(reason, true))?;
    let status = response.status();
    // A signed link past its expiry answers 401/403 (S3, GCS, Azure), a purged
    // one 404/410: neither will come back.
    if matches!(status.as_u16(), 401 | 403 | 404 | 410) {
        return Err(OutputError::Gone {
            host,
            status: status.as_u16(),
        });
    }
    if !status.is_success() {
        let retryable = status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408;
        return Err(unavailable(format!("it answered {status}"), retryable));
    }
    if response.content_length().is_some_and(|n| n > to.max_bytes) {
        return Err(OutputError::TooLarge { limit: to.max_bytes });
    }
    let content_type = served_type(&response).unwrap_or_else(|| expected_type.to_string());
    let body: ByteChunks = response.bytes_stream().map_err(std::io::Error::other).boxed();
    to.store
        .put(key, &content_type, body, to.max_bytes)
        .await
        .map_err(|e| OutputError::from_storage(e, &host))
}

/// GETs `url`. A link that needs the provider's key is fetched without automatic
/// redirects: a redirect keeps the key only while it stays on the link's own
/// origin, so the key never reaches a CDN or any other host.
async fn fetch(to: &Destination<'_>, url: &str, auth: Option<(&str, &Secret)>) -> Result<reqwest::Response, String> {
    let failed = |e: reqwest::Error| {
        if e.is_timeout() {
            format!("no answer within {:?}", to.download_timeout)
        } else {
            crate::provider_call::without_url(&e)
        }
    };
    let Some((header, key)) = auth else {
        return to
            .http
            .get(url)
            .timeout(to.download_timeout)
            .send()
            .await
            .map_err(failed);
    };
    let origin = url::Url::parse(url)
        .map_err(|e| format!("unreadable link: {e}"))?
        .origin();
    let mut current = url.to_string();
    for _ in 0..MAX_REDIRECTS {
        let target = url::Url::parse(&current).map_err(|e| format!("unreadable redirect: {e}"))?;
        let mut request = to.http_unredirected.get(target.clone()).timeout(to.download_timeout);
        if target.origin() == origin {
            request = request.header(header, key.expose());
        }
        let response = request.send().await.map_err(failed)?;
        if !response.status().is_redirection() {
            return Ok(response);
        }
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .ok_or_else(|| format!("it answered {} without a Location", response.status()))?;
        current = target
            .join(location)
            .map_err(|e| format!("unreadable redirect: {e}"))?
            .to_string();
    }
    Err(format!("more than {MAX_REDIRECTS} redirects"))
}

/// The type the provider served the file as, unless it only said "bytes".
fn served_type(response: &reqwest::Response) -> Option<String> {
    let value = response.headers().get(reqwest::header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next()?.trim().to_ascii_lowercase();
    let generic = essence.is_empty() || essence == "application/octet-stream" || essence == "binary/octet-stream";
    (!generic).then_some(essence)
}

/// Whether two URLs share scheme, host and port: a provider's key goes to its
/// own origin and nowhere else.
pub(crate) fn same_origin(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_key_only_goes_home() {
        let base = "https://generativelanguage.googleapis.com";
        assert!(super::same_origin(
            "https://generativelanguage.googleapis.com/v1beta/files/x:download",
            base
        ));
        assert!(!super::same_origin("https://evil.example/v1beta/files/x", base));
        assert!(!super::same_origin("http://generativelanguage.googleapis.com/x", base));
    }
}
