//! A provider's billed answer, kept with its job until its outputs are in our
//! storage (invariant 8). The worker commits it the moment the provider answers
//! (its links, inline bytes, ids, revised prompts, seeds, an operation's result),
//! and only then starts copying; a copy that fails, or a worker that dies
//! copying, resumes from this record and never calls the generation again.
//! Stored in `jobs.answer`; cleared when the job succeeds.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub files: Vec<AnswerFile>,
    /// Merged into the job's `output` beside `files` (revised prompts, seeds, search results).
    #[serde(default)]
    pub details: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_request_id: Option<String>,
    pub received_at: DateTime<Utc>,
    /// How long the provider took to give it (for the job's metrics, whichever run
    /// finishes the copy).
    #[serde(default)]
    pub provider_ms: u64,
    /// Copy tries started so far, the one in progress included (each tries
    /// every file). Counted when a try is taken up, so a try that kills its
    /// worker counts too.
    #[serde(default)]
    pub copies: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_copy_error: Option<String>,
}

/// One output of the answer and where its bytes are to be had.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnswerFile {
    /// The file's name under the job (`image-1.png`).
    pub name: String,
    pub content_type: String,
    #[serde(flatten)]
    pub source: FileSource,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum FileSource {
    /// A link the provider returned. `key_header` names the header that must
    /// carry the provider's key (never the key itself: that stays in the catalog).
    Link {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_header: Option<String>,
        /// When the provider says the link stops working; past it, the output
        /// is gone without asking.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<DateTime<Utc>>,
    },
    /// Bytes sent in the answer itself, base64 as the provider sent them.
    Inline { base64: String },
    /// The answer's body was the file (speech), stored as it arrived; if that
    /// broke off, there is nothing left to copy again.
    Streamed,
}

impl Answer {
    pub fn new(files: Vec<AnswerFile>, details: Map<String, Value>, provider_request_id: Option<String>) -> Self {
        Self {
            files,
            details,
            provider_request_id,
            received_at: Utc::now(),
            provider_ms: 0,
            copies: 0,
            last_copy_error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keeps_where_each_file_comes_from() {
        let answer = Answer::new(
            vec![
                AnswerFile {
                    name: "video-1.mp4".into(),
                    content_type: "video/mp4".into(),
                    source: FileSource::Link {
                        url: "https://cdn.example/v.mp4".into(),
                        key_header: Some("x-goog-api-key".into()),
                        expires_at: None,
                    },
                },
                AnswerFile {
                    name: "image-1.png".into(),
                    content_type: "image/png".into(),
                    source: FileSource::Inline { base64: "iVBO".into() },
                },
            ],
            Map::new(),
            Some("req_1".into()),
        );
        let stored = serde_json::to_value(&answer).expect("json");
        assert_eq!(stored["files"][0]["from"], "link");
        assert_eq!(stored["files"][0]["key_header"], "x-goog-api-key");
        assert_eq!(
            stored["files"][1],
            json!({"name": "image-1.png", "content_type": "image/png", "from": "inline", "base64": "iVBO"})
        );
        let back: Answer = serde_json::from_value(stored).expect("back");
        assert_eq!(back, answer);
    }
}
