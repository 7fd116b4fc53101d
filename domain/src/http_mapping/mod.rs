//! The generic HTTP provider's mapping: how a model of a provider of kind
//! `http` is called with no code of its own. A request template (method,
//! path, headers, JSON body) whose `{{placeholders}}` are filled from the
//! job's input, the mapping's `defaults` and the model, keeping their JSON
//! types (a number stays a number, a list stays a list); JSON pointers
//! (RFC 6901) saying where the answer holds the output, the usage and the
//! error message; and, for an API that answers later, how to poll it until a
//! status field says it is done. Checked when saved (`validate`), so a mapping
//! the worker cannot fill is refused with the spot named, never sent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

mod pointer;
mod render;
mod slots;
mod template;
mod validate;

pub use pointer::is_valid_pointer;
pub use render::RenderedRequest;
pub use slots::Values;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpMapping {
    /// The call that starts the work (and, without `async`, answers it).
    pub request: RequestTemplate,
    /// Values for placeholders the job leaves out (`temperature`), and
    /// constants of the mapping's own (`steps`).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[schema(value_type = Object)]
    pub defaults: Map<String, Value>,
    /// Where the answer holds what DE keeps; with `async`, in the last poll's answer.
    pub response: ResponseMapping,
    /// For an API that accepts the work and finishes it later.
    #[serde(default, rename = "async", skip_serializing_if = "Option::is_none")]
    pub operation: Option<AsyncMapping>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestTemplate {
    /// Default: `POST` with a body, `GET` without (a status request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<HttpMethod>,
    /// Under the provider's base URL, starting with `/`; may carry a query.
    pub path: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Sent as JSON; none for a request without a body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// How an output is held in the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    /// The text itself (text models).
    Text,
    /// A link to each file, or a list of them (image models).
    Url,
    /// Each file's bytes in base64, or a list of them.
    Base64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseMapping {
    /// JSON pointer to the output: the text, or a file or list of files.
    pub output: String,
    /// For files: where each element of the `output` list holds its file
    /// (`/url` for `[{"url": …}]`), as a JSON pointer into the element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_item: Option<String>,
    /// Default: `text` for text models, `url` for image models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<OutputFormat>,
    /// The files' media type (default `image/png`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// The provider's id for the request, in the (first) answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The provider's message in an error answer's body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AsyncMapping {
    /// JSON pointer to the operation's id in the answer to `request`.
    pub operation_id: String,
    /// The status request; `{{operation_id}}` names the operation.
    pub poll: RequestTemplate,
    /// JSON pointer to the status in a poll's answer.
    pub status: String,
    /// The status values that mean finished: the output is then read with `response`.
    pub done: Vec<Value>,
    /// The status values that mean the provider gave up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<Value>,
    /// JSON pointer to why it gave up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

impl HttpMapping {
    /// The output's format, with the modality's default.
    pub fn output_format(&self, modality: crate::job::Modality) -> OutputFormat {
        self.response.output_format.unwrap_or(match modality {
            crate::job::Modality::Text => OutputFormat::Text,
            _ => OutputFormat::Url,
        })
    }

    /// The files' media type.
    pub fn content_type(&self) -> &str {
        self.response.content_type.as_deref().unwrap_or("image/png")
    }
}
