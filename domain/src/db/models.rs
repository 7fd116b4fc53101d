//! Models as the admin API writes them: which provider serves a model under
//! which name, its token limits, pricing, status, prompt template and how its billed failures
//! are treated. Every change notifies `de_catalog`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{types::Json, PgExecutor, PgPool};

use crate::{
    catalog::ModelStatus, http_mapping::HttpMapping, job::Modality, pricing::Pricing, prompt_template::PromptTemplate,
};

/// A model's row, for the admin API (disabled models included).
#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ModelRecord {
    pub id: String,
    pub modality: Modality,
    #[serde(rename = "provider")]
    pub provider_id: String,
    pub provider_model: String,
    pub default_max_tokens: i32,
    pub max_output_tokens: i32,
    #[schema(value_type = Pricing)]
    pub pricing: Json<Value>,
    pub status: ModelStatus,
    pub deprecated_at: Option<DateTime<Utc>>,
    pub retry_unusable_answers: bool,
    pub regenerate_unavailable_outputs: bool,
    #[schema(value_type = Option<PromptTemplate>)]
    pub prompt_template: Option<Json<Value>>,
    #[schema(value_type = Option<HttpMapping>)]
    pub http_mapping: Option<Json<Value>>,
    /// The models a job of this one moves to, in order, when its provider is exhausted.
    pub fallbacks: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the admin API sets (everything but the id).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelWrite {
    pub modality: Modality,
    pub provider: String,
    pub provider_model: String,
    #[serde(default = "default_max_tokens")]
    pub default_max_tokens: i32,
    #[serde(default = "max_output_tokens")]
    pub max_output_tokens: i32,
    #[serde(default)]
    pub pricing: Pricing,
    #[serde(default = "active")]
    pub status: ModelStatus,
    #[serde(default)]
    pub retry_unusable_answers: bool,
    #[serde(default)]
    pub regenerate_unavailable_outputs: bool,
    /// Text models only.
    #[serde(default)]
    pub prompt_template: Option<PromptTemplate>,
    /// Models of `http` providers only, and required there.
    #[serde(default)]
    pub http_mapping: Option<HttpMapping>,
    /// Models of the same modality a job moves to, in order, when this one's
    /// provider is exhausted (a job may name its own instead).
    #[serde(default)]
    pub fallbacks: Vec<String>,
}

fn default_max_tokens() -> i32 {
    1024
}

fn max_output_tokens() -> i32 {
    4096
}

fn active() -> ModelStatus {
    ModelStatus::Active
}

const COLUMNS: &str = "id, modality, provider_id, provider_model, default_max_tokens, max_output_tokens, pricing,
    status, deprecated_at, retry_unusable_answers, regenerate_unavailable_outputs, prompt_template, http_mapping, fallbacks, created_at, updated_at";

pub async fn list(pool: &PgPool) -> Result<Vec<ModelRecord>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM models ORDER BY id"))
        .fetch_all(pool)
        .await
}

pub async fn get(db: impl PgExecutor<'_>, id: &str) -> Result<Option<ModelRecord>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM models WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Creates or replaces the model (`enabled` follows the status, for the
/// processes of the previous release).
pub async fn put(db: impl PgExecutor<'_>, id: &str, model: &ModelWrite) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO models (id, modality, provider_id, provider_model, default_max_tokens, max_output_tokens,
                             pricing, status, enabled, retry_unusable_answers, regenerate_unavailable_outputs,
                             prompt_template, http_mapping, fallbacks)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8 <> 'disabled', $9, $10, $11, $12, $13)
         ON CONFLICT (id) DO UPDATE SET modality = EXCLUDED.modality, provider_id = EXCLUDED.provider_id,
             provider_model = EXCLUDED.provider_model, default_max_tokens = EXCLUDED.default_max_tokens,
             max_output_tokens = EXCLUDED.max_output_tokens, pricing = EXCLUDED.pricing,
             status = EXCLUDED.status, enabled = EXCLUDED.enabled,
             retry_unusable_answers = EXCLUDED.retry_unusable_answers,
             regenerate_unavailable_outputs = EXCLUDED.regenerate_unavailable_outputs,
             prompt_template = EXCLUDED.prompt_template, http_mapping = EXCLUDED.http_mapping,
             fallbacks = EXCLUDED.fallbacks, updated_at = now()",
    )
    .bind(id)
    .bind(model.modality.as_str())
    .bind(&model.provider)
    .bind(&model.provider_model)
    .bind(model.default_max_tokens)
    .bind(model.max_output_tokens)
    .bind(Json(&model.pricing))
    .bind(model.status)
    .bind(model.retry_unusable_answers)
    .bind(model.regenerate_unavailable_outputs)
    .bind(model.prompt_template.as_ref().map(Json))
    .bind(model.http_mapping.as_ref().map(Json))
    .bind(&model.fallbacks)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn delete(db: impl PgExecutor<'_>, id: &str) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM models WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(deleted.rows_affected() > 0)
}
