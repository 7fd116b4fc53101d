//! The shapes of answers that handlers build with `json!`, for the API
//! reference only: nothing constructs these, the handlers' own `json!` stays
//! what is sent. Each names (in a comment) the handler whose answer it
//! describes; a change to one belongs in both. Doc comments here are the
//! reference's descriptions.
#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use electrons_domain::{
    auth::Role,
    catalog::{Api, KeySource, ModelStatus},
    db::{
        api_keys::KeyRecord,
        audit::Logged,
        feedback::SummaryRow,
        users::{TokenRecord, User},
    },
    http_mapping::HttpMethod,
    job::Modality,
    job_view::JobView,
    pricing::Pricing,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// A list: `{"data": [...]}`.
#[derive(Serialize, ToSchema)]
pub struct Data<T> {
    pub data: Vec<T>,
}

// `jobs::list`
/// Newest first.
#[derive(Serialize, ToSchema)]
pub struct JobPage {
    pub data: Vec<JobView>,
    pub has_more: bool,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

// `audit::list`
/// Newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub data: Vec<Logged>,
    /// Pass as `cursor` for the next page; null when this page was not full.
    pub next_cursor: Option<Uuid>,
}

// `feedback::summary` and `admin_summary`
/// `[from, to)`.
#[derive(Serialize, ToSchema)]
pub struct FeedbackSummary {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub data: Vec<SummaryRow>,
}

// `usage::report` as JSON
/// `[from, to)`, one row per day (UTC), project and model.
#[derive(Serialize, ToSchema)]
pub struct UsageReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub data: Vec<UsageDay>,
    pub total: UsageTotal,
}

#[derive(Serialize, ToSchema)]
pub struct UsageDay {
    pub day: NaiveDate,
    pub project_id: Uuid,
    pub model: String,
    pub modality: Modality,
    pub jobs: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub billed_calls: i64,
    /// The units used, those not zero: `input_tokens`, `output_tokens`,
    /// `images`, `characters`, `video_seconds`, `requests`.
    pub usage: BTreeMap<String, f64>,
    pub cost_usd: f64,
}

#[derive(Serialize, ToSchema)]
pub struct UsageTotal {
    pub jobs: i64,
    pub cost_usd: f64,
}

// `models::list`
/// One model a key may submit to.
#[derive(Serialize, ToSchema)]
pub struct ModelListing {
    pub id: String,
    pub modality: Modality,
    pub provider: String,
    pub api: Api,
    pub pricing: Pricing,
    pub status: ModelStatus,
    /// Since when, for a deprecated model.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = DateTime<Utc>)]
    pub deprecated_at: Option<DateTime<Utc>>,
    /// Text models only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = u32)]
    pub default_max_tokens: Option<u32>,
    /// Text models only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = u32)]
    pub max_output_tokens: Option<u32>,
    /// What `input` may hold, for clients that build a form from it.
    pub input_fields: Vec<electrons_domain::input::Field>,
}

// webhook_endpoints::enable
#[derive(Serialize, ToSchema)]
pub struct EndpointEnabled {
    pub url: String,
    pub enabled: bool,
    /// How many refused deliveries were scheduled again.
    pub redelivered: u64,
}

// `api_keys::make`
/// The key, shown in this answer only.
#[derive(Serialize, ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub record: KeyRecord,
    pub key: String,
}

// `admin_users::create_token`
/// The token, shown in this answer only.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub record: TokenRecord,
    pub token: String,
}

// `admin_users::get`
/// The user and the instances they have a role in.
#[derive(Serialize, ToSchema)]
pub struct UserWithInstances {
    #[serde(flatten)]
    pub user: User,
    pub instances: Vec<String>,
}

// admin_users::put_member
/// A user's role in an instance.
#[derive(Serialize, ToSchema)]
pub struct MemberRole {
    pub instance: String,
    pub user_id: Uuid,
    pub role: Role,
}

/// A key the admin API never shows: whether one is set, and its last four characters.
#[derive(Serialize, ToSchema)]
pub struct KeyShown {
    pub set: bool,
    pub last4: Option<String>,
}

// admin_providers::view
/// A provider, its key shown by its last four characters only.
#[derive(Serialize, ToSchema)]
pub struct ProviderView {
    pub id: String,
    /// `openai_chat`, `anthropic_messages`, `ideogram`, `gemini`, `elevenlabs`, `pexels`, `shotstack` or `http`.
    pub kind: String,
    pub base_url: String,
    pub timeout_ms: i32,
    /// The key set through this API.
    pub api_key: KeyShown,
    /// Where the key this deployment calls it with comes from (an environment variable wins).
    pub key_in_use: Option<KeySource>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

// `admin_credentials::view`
/// An instance's own key for a provider.
#[derive(Serialize, ToSchema)]
pub struct CredentialView {
    pub provider: String,
    pub instance: String,
    /// The provider id its calls and rate limits go under (`<provider>@<instance>`).
    pub credential_id: String,
    pub api_key: KeyShown,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

// `admin_model_dry_run::dry_run`
/// What would be sent, the key masked.
#[derive(Serialize, ToSchema)]
pub struct DryRunView {
    pub model: String,
    pub provider: String,
    pub request: RenderedCall,
    /// The status request, for an `async` mapping (`OPERATION_ID` stands for the operation's id).
    pub poll: Option<RenderedCall>,
    pub key: KeySource,
}

#[derive(Serialize, ToSchema)]
pub struct RenderedCall {
    pub method: HttpMethod,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    /// The JSON body; null for a request without one.
    pub body: Value,
}

// health::healthz
#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

// `health::readyz`
/// Ready when the database answers; the broker is reported.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    pub database: bool,
    pub broker: bool,
}
