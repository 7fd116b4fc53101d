//! A job's files as its `output` keeps them and as clients see them. Stored,
//! each file has its object `key`; shown, the key gives way to a fresh link
//! (presigned, or signed by the producer) that expires after the configured
//! time — so a link is never older than the request that fetched the job.
//! Once retention deleted a file it keeps its description with `deleted_at`
//! and no link.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{ObjectKey, ObjectStore, StoredObject};

/// One stored file as recorded in `output.files[]`.
pub fn file_entry(stored: &StoredObject) -> Value {
    json!({
        "key": stored.key,
        "content_type": stored.content_type,
        "bytes": stored.bytes,
        "sha256": stored.sha256,
    })
}

/// The object keys of the files `output` lists that still exist.
pub fn live_keys(output: &Value) -> Vec<ObjectKey> {
    files(output)
        .iter()
        .filter(|f| f.get("deleted_at").is_none())
        .filter_map(|f| f.get("key")?.as_str())
        .filter_map(|k| ObjectKey::parse(k).ok())
        .collect()
}

/// `output` with every file marked deleted at `at`.
pub fn mark_deleted(mut output: Value, at: DateTime<Utc>) -> Value {
    if let Some(files) = output.get_mut("files").and_then(Value::as_array_mut) {
        for file in files.iter_mut().filter_map(Value::as_object_mut) {
            file.entry("deleted_at").or_insert_with(|| json!(at));
        }
    }
    output
}

/// `output` as a client sees it: each file's `key` replaced by a `url` valid for
/// `ttl` (and `url_expires_at`), or `url: null` once deleted. A link that cannot
/// be made (the store is unreachable) is `null` too, rather than failing the read.
pub async fn with_links(mut output: Value, store: &ObjectStore, ttl: Duration) -> Value {
    let Some(files) = output.get_mut("files").and_then(Value::as_array_mut) else {
        return output;
    };
    let expires_at = Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default();
    for file in files.iter_mut().filter_map(Value::as_object_mut) {
        let key = file
            .remove("key")
            .and_then(|k| k.as_str().and_then(|k| ObjectKey::parse(k).ok()));
        let link = match key {
            Some(key) if !file.contains_key("deleted_at") => match store.url(&key, ttl).await {
                Ok(url) => Some(url),
                Err(error) => {
                    tracing::warn!(%error, %key, "could not make a link to an output");
                    None
                }
            },
            _ => None,
        };
        if link.is_some() {
            file.insert("url_expires_at".into(), json!(expires_at));
        }
        file.insert("url".into(), json!(link));
    }
    output
}

fn files(output: &Value) -> &[Value] {
    output.get("files").and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleted_files_lose_their_keys_to_retention() {
        let prefix = format!("projects/{}/jobs/{}/r1", uuid::Uuid::nil(), uuid::Uuid::max());
        let output = json!({"files": [
            {"key": format!("{prefix}/image-1.png"), "content_type": "image/png", "bytes": 3, "sha256": "ab"},
            {"key": format!("{prefix}/image-2.png"), "content_type": "image/png", "bytes": 3, "sha256": "cd",
             "deleted_at": "2026-01-01T00:00:00Z"}
        ]});
        assert_eq!(live_keys(&output).len(), 1);
        let deleted = mark_deleted(output, Utc::now());
        assert!(live_keys(&deleted).is_empty());
        assert_eq!(deleted["files"][1]["deleted_at"], "2026-01-01T00:00:00Z");
        assert!(live_keys(&json!("just text")).is_empty());
    }
}
