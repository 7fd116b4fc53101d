//! What a job is: its status machine, modality, priority and stored row.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::ids::JobId;

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($variant),+ }

        // Stored as TEXT: readable in psql, and a CHECK constraint keeps it honest.
        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        impl sqlx::Encode<'_, sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                text.parse().map_err(Into::into)
            }
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "must be one of: {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

text_enum!(
    /// `queued` → `running` → `succeeded` | `failed` | `canceled`; a retryable
    /// failure goes back to `queued` with a later `run_at`.
    JobStatus { Queued = "queued", Running = "running", Succeeded = "succeeded", Failed = "failed", Canceled = "canceled" }
);

impl JobStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed | JobStatus::Canceled)
    }
}

text_enum!(
    /// One RabbitMQ queue per modality.
    Modality { Text = "text", Image = "image", Audio = "audio", Media = "media", Video = "video" }
);

text_enum!(
    Priority { High = "high", Normal = "normal", Low = "low" }
);

impl Priority {
    /// AMQP message priority; queues are declared with `x-max-priority` = 2.
    pub fn amqp(self) -> u8 {
        match self {
            Priority::High => 2,
            Priority::Normal => 1,
            Priority::Low => 0,
        }
    }
}

text_enum!(
    /// What a job's webhook reports: `start` (first claimed by a worker) or
    /// `completed` (any terminal state).
    WebhookEvent { Start = "start", Completed = "completed" }
);

text_enum!(
    /// `pending` → `delivering` → `delivered`; a failed attempt goes back to
    /// `pending` with a later `next_attempt_at` until the schedule is
    /// `exhausted`; a 410 from the receiver leaves it `disabled`.
    DeliveryStatus {
        Pending = "pending", Delivering = "delivering", Delivered = "delivered",
        Exhausted = "exhausted", Disabled = "disabled"
    }
);

/// A job as stored. JSON columns stay `Value`: their shape is owned by the
/// modality that produced them and is validated at the edges.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Job {
    #[sqlx(try_from = "Uuid")]
    pub id: JobId,
    pub project_id: Uuid,
    pub model: String,
    pub modality: Modality,
    pub provider: String,
    pub status: JobStatus,
    pub priority: Priority,
    #[sqlx(json)]
    pub input: Value,
    pub output: Option<sqlx::types::Json<Value>>,
    pub error: Option<sqlx::types::Json<Value>>,
    #[sqlx(json)]
    pub metrics: Value,
    #[sqlx(json)]
    pub metadata: Value,
    pub webhook: Option<String>,
    pub webhook_events_filter: Vec<String>,
    /// Claims so far; the fencing token messages must match.
    pub attempt: i32,
    /// Claims that ended deferred (rate limits), which use up no attempt.
    pub deferrals: i32,
    pub max_attempts: i32,
    pub lease_until: Option<DateTime<Utc>>,
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Poll messages published for it so far; the fence of whoever holds it
    /// between claims (`db::jobs::Fence`).
    pub poll_seq: i32,
    /// The long-running provider operation a running job waits on, if any.
    pub operation: Option<sqlx::types::Json<crate::operation::Operation>>,
    /// The billed answer whose outputs a running job is still copying, if any.
    /// Read only where it is used (it may hold inline bytes): absent elsewhere.
    #[sqlx(default)]
    pub answer: Option<sqlx::types::Json<crate::answer::Answer>>,
    /// The submit's W3C trace context, when traces are exported: relays,
    /// retries, polls and webhook deliveries join that trace.
    #[sqlx(default)]
    pub traceparent: Option<String>,
    /// The models it moves to, in order, when its model's provider is
    /// exhausted (`None` in a webhook snapshot from before fallbacks).
    #[sqlx(default)]
    pub fallbacks: Option<Vec<String>>,
    /// How its webhooks draw it: `prediction` (Replicate's shape) or the job
    /// itself (`None`).
    #[sqlx(default)]
    pub webhook_format: Option<String>,
    /// Somebody follows its events (`None` in a snapshot from before).
    #[sqlx(default)]
    pub followed: Option<bool>,
}

impl Job {
    /// The models it still moves to, in order.
    pub fn fallbacks(&self) -> &[String] {
        self.fallbacks.as_deref().unwrap_or_default()
    }

    /// Provider attempts used: claims minus deferrals.
    pub fn attempts_used(&self) -> i32 {
        self.attempt - self.deferrals
    }
}

impl From<Uuid> for JobId {
    fn from(value: Uuid) -> Self {
        JobId(value)
    }
}

/// Why a job failed, as stored in `jobs.error` and shown to the client.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JobError {
    /// Stable machine-readable code, e.g. `provider_error`, `provider_timeout`.
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_status: Option<u16>,
    /// The provider's id for the request, to quote when asking it about the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_request_id: Option<String>,
    /// The start of what the provider answered (secrets scrubbed), when DE could
    /// not use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_body: Option<String>,
    pub retryable: bool,
}

impl JobError {
    /// A failure that no other attempt would change.
    pub fn final_error(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            ..Self::default()
        }
    }
}
