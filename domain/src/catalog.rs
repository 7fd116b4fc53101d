//! The model catalog: which models exist, which provider serves each, where that
//! provider lives and with which credentials. Loaded from PostgreSQL and refreshed
//! in the background, so configuration changes reach running processes without a
//! restart.

use std::{collections::HashMap, sync::Arc, time::Duration};

use serde::Serialize;
use sqlx::PgPool;
use tokio::sync::RwLock;

use crate::{config::provider_override, input::TextLimits, job::Modality, secret::Secret, Shutdown};

/// Which wire format a provider speaks; each has one adapter in `workers`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    OpenAiChat,
    AnthropicMessages,
}

impl ProviderKind {
    fn parse(kind: &str) -> Option<Self> {
        match kind {
            "openai_chat" => Some(Self::OpenAiChat),
            "anthropic_messages" => Some(Self::AnthropicMessages),
            _ => None,
        }
    }

    /// OpenAI accepts temperatures up to 2, Anthropic up to 1.
    pub fn max_temperature(self) -> f64 {
        match self {
            Self::OpenAiChat => 2.0,
            Self::AnthropicMessages => 1.0,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ProviderConfig {
    pub id: String,
    pub kind: ProviderKind,
    pub base_url: String,
    pub api_key: Option<Secret>,
    pub timeout: Duration,
}

#[derive(Clone, Debug, Serialize)]
pub struct ModelConfig {
    pub id: String,
    pub modality: Modality,
    pub provider: String,
    pub provider_model: String,
    pub default_max_tokens: u32,
    pub max_output_tokens: u32,
    pub input_usd_per_mtok: f64,
    pub output_usd_per_mtok: f64,
}

impl ModelConfig {
    pub fn estimated_cost_usd(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        (input_tokens as f64 * self.input_usd_per_mtok + output_tokens as f64 * self.output_usd_per_mtok) / 1e6
    }
}

/// Where and how to reach a provider instead of what the database says, for this
/// process only (`electrons dev` pointing providers without keys at the simulator).
#[derive(Clone, Debug, Default)]
pub struct ProviderOverride {
    pub base_url: Option<String>,
    pub api_key: Option<Secret>,
}

pub type Overrides = HashMap<String, ProviderOverride>;

#[derive(sqlx::FromRow)]
struct ModelRow {
    id: String,
    modality: Modality,
    provider_id: String,
    provider_model: String,
    default_max_tokens: i32,
    max_output_tokens: i32,
    input_usd_per_mtok: f64,
    output_usd_per_mtok: f64,
}

#[derive(Clone, Debug, Default)]
pub struct Catalog {
    pub models: HashMap<String, ModelConfig>,
    pub providers: HashMap<String, ProviderConfig>,
}

impl Catalog {
    pub async fn load(pool: &PgPool, overrides: &Overrides) -> Result<Self, sqlx::Error> {
        let providers: Vec<(String, String, String, Option<String>, i32)> =
            sqlx::query_as("SELECT id, kind, base_url, api_key, timeout_ms FROM providers")
                .fetch_all(pool)
                .await?;
        let providers: HashMap<_, _> = providers
            .into_iter()
            .filter_map(|(id, kind, base_url, api_key, timeout_ms)| {
                let Some(kind) = ProviderKind::parse(&kind) else {
                    tracing::warn!(provider = %id, %kind, "unknown provider kind; its models are unavailable");
                    return None;
                };
                let local = overrides.get(&id).cloned().unwrap_or_default();
                let base_url = local
                    .base_url
                    .or_else(|| provider_override(&id, "BASE_URL"))
                    .unwrap_or(base_url);
                let api_key = local
                    .api_key
                    .or_else(|| provider_override(&id, "API_KEY").or(api_key).map(Secret::new));
                let timeout = Duration::from_millis(timeout_ms.max(1) as u64);
                Some((
                    id.clone(),
                    ProviderConfig {
                        id,
                        kind,
                        base_url: base_url.trim_end_matches('/').into(),
                        api_key,
                        timeout,
                    },
                ))
            })
            .collect();

        let rows: Vec<ModelRow> = sqlx::query_as(
            "SELECT id, modality, provider_id, provider_model, default_max_tokens, max_output_tokens,
                    input_usd_per_mtok, output_usd_per_mtok
             FROM models WHERE enabled",
        )
        .fetch_all(pool)
        .await?;
        let models = rows
            .into_iter()
            .filter(|row| providers.contains_key(&row.provider_id))
            .map(|row| {
                let model = ModelConfig {
                    id: row.id.clone(),
                    modality: row.modality,
                    provider: row.provider_id,
                    provider_model: row.provider_model,
                    default_max_tokens: row.default_max_tokens.max(1) as u32,
                    max_output_tokens: row.max_output_tokens.max(1) as u32,
                    input_usd_per_mtok: row.input_usd_per_mtok,
                    output_usd_per_mtok: row.output_usd_per_mtok,
                };
                (row.id, model)
            })
            .collect();
        Ok(Self { models, providers })
    }

    pub fn text_limits(&self, model: &ModelConfig) -> TextLimits {
        let max_temperature = self
            .providers
            .get(&model.provider)
            .map_or(1.0, |p| p.kind.max_temperature());
        TextLimits {
            max_output_tokens: model.max_output_tokens,
            max_temperature,
        }
    }
}

/// A shared, periodically refreshed catalog.
#[derive(Clone)]
pub struct CatalogHandle {
    current: Arc<RwLock<Arc<Catalog>>>,
    overrides: Arc<Overrides>,
}

impl CatalogHandle {
    pub async fn load(pool: &PgPool, overrides: Overrides) -> Result<Self, sqlx::Error> {
        let catalog = Catalog::load(pool, &overrides).await?;
        Ok(Self {
            current: Arc::new(RwLock::new(Arc::new(catalog))),
            overrides: Arc::new(overrides),
        })
    }

    pub async fn get(&self) -> Arc<Catalog> {
        self.current.read().await.clone()
    }

    pub async fn reload(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let fresh = Catalog::load(pool, &self.overrides).await?;
        *self.current.write().await = Arc::new(fresh);
        Ok(())
    }

    /// Reloads every `every` until shutdown; a failed reload keeps the last catalog.
    pub fn spawn_refresh(&self, pool: PgPool, every: Duration, shutdown: Shutdown) {
        let handle = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(every) => {}
                }
                if let Err(error) = handle.reload(&pool).await {
                    tracing::warn!(%error, "catalog refresh failed; keeping the previous one");
                }
            }
        });
    }
}
