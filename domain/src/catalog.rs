//! The model catalog: which models exist, which provider serves each, where that
//! provider lives and with which credentials. Loaded from PostgreSQL and refreshed
//! in the background, so configuration changes reach running processes without a
//! restart.

use std::{collections::HashMap, sync::Arc, time::Duration};

use serde::Serialize;
use sqlx::PgPool;
use tokio::sync::RwLock;

use crate::{
    config::provider_override,
    input::{ImageRules, InputRules, TextLimits, VideoRules},
    job::Modality,
    secret::Secret,
    Shutdown,
};

/// Which company's API a provider is; with a model's modality it fixes the wire
/// format (`Api`). `openai_chat` also covers any OpenAI-compatible endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    OpenAiChat,
    AnthropicMessages,
    Ideogram,
    Gemini,
    ElevenLabs,
    Pexels,
    Shotstack,
}

/// The wire format one model is called with; each has one adapter in `workers`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    OpenAiChat,
    AnthropicMessages,
    OpenAiImages,
    IdeogramGenerate,
    GeminiImage,
    ElevenLabsSpeech,
    PexelsVideos,
    PexelsPhotos,
    ShotstackRender,
    GeminiVeo,
}

impl Api {
    /// The API serving `modality` on a provider of `kind`; `provider_model` picks
    /// between a provider's endpoints where the modality does not (Pexels).
    pub fn of(kind: ProviderKind, modality: Modality, provider_model: &str) -> Option<Self> {
        use Modality as M;
        use ProviderKind as K;
        Some(match (kind, modality) {
            (K::OpenAiChat, M::Text) => Self::OpenAiChat,
            (K::AnthropicMessages, M::Text) => Self::AnthropicMessages,
            (K::OpenAiChat, M::Image) => Self::OpenAiImages,
            (K::Ideogram, M::Image) => Self::IdeogramGenerate,
            (K::Gemini, M::Image) => Self::GeminiImage,
            (K::ElevenLabs, M::Audio) => Self::ElevenLabsSpeech,
            (K::Pexels, M::Media) if provider_model == "photos" => Self::PexelsPhotos,
            (K::Pexels, M::Media) if provider_model == "videos" => Self::PexelsVideos,
            (K::Shotstack, M::Video) => Self::ShotstackRender,
            (K::Gemini, M::Video) => Self::GeminiVeo,
            _ => return None,
        })
    }

    /// Whether the provider works on the job after the call returns (the job is
    /// then polled rather than holding a worker).
    pub fn is_long_running(self) -> bool {
        matches!(self, Self::ShotstackRender | Self::GeminiVeo)
    }
}

impl ProviderKind {
    fn parse(kind: &str) -> Option<Self> {
        match kind {
            "openai_chat" => Some(Self::OpenAiChat),
            "anthropic_messages" => Some(Self::AnthropicMessages),
            "ideogram" => Some(Self::Ideogram),
            "gemini" => Some(Self::Gemini),
            "elevenlabs" => Some(Self::ElevenLabs),
            "pexels" => Some(Self::Pexels),
            "shotstack" => Some(Self::Shotstack),
            _ => None,
        }
    }

    /// OpenAI accepts temperatures up to 2, Anthropic up to 1.
    pub fn max_temperature(self) -> f64 {
        match self {
            Self::OpenAiChat => 2.0,
            _ => 1.0,
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
    pub api: Api,
    pub default_max_tokens: u32,
    pub max_output_tokens: u32,
    pub input_usd_per_mtok: f64,
    pub output_usd_per_mtok: f64,
    /// Retry a 2xx the provider billed but DE could not use (off: such an
    /// answer fails the job rather than being paid for again).
    pub retry_unusable_answers: bool,
    /// Generate again, as a new attempt, when the provider no longer has an
    /// output it returned (404/410, expired); off: the job fails `output_unavailable`.
    pub regenerate_unavailable_outputs: bool,
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
    retry_unusable_answers: bool,
    regenerate_unavailable_outputs: bool,
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
                    input_usd_per_mtok, output_usd_per_mtok, retry_unusable_answers, regenerate_unavailable_outputs
             FROM models WHERE enabled",
        )
        .fetch_all(pool)
        .await?;
        let models = rows
            .into_iter()
            .filter_map(|row| {
                let provider = providers.get(&row.provider_id)?;
                let Some(api) = Api::of(provider.kind, row.modality, &row.provider_model) else {
                    tracing::warn!(model = %row.id, provider = %provider.id, modality = %row.modality,
                        "no API of this provider serves the model's modality; the model is unavailable");
                    return None;
                };
                let model = ModelConfig {
                    id: row.id.clone(),
                    modality: row.modality,
                    provider: row.provider_id,
                    provider_model: row.provider_model,
                    api,
                    default_max_tokens: row.default_max_tokens.max(1) as u32,
                    max_output_tokens: row.max_output_tokens.max(1) as u32,
                    input_usd_per_mtok: row.input_usd_per_mtok,
                    output_usd_per_mtok: row.output_usd_per_mtok,
                    retry_unusable_answers: row.retry_unusable_answers,
                    regenerate_unavailable_outputs: row.regenerate_unavailable_outputs,
                };
                Some((row.id, model))
            })
            .collect();
        Ok(Self { models, providers })
    }

    /// What a job's input must satisfy for `model`, checked at submit and again
    /// by the worker. `None` for a provider model the adapter does not know.
    pub fn input_rules(&self, model: &ModelConfig) -> Option<InputRules> {
        Some(match model.api {
            Api::OpenAiChat | Api::AnthropicMessages => InputRules::Text(self.text_limits(model)),
            Api::OpenAiImages => match model.provider_model.as_str() {
                "dall-e-3" => InputRules::Image(&ImageRules::DALL_E_3),
                "dall-e-2" => InputRules::Image(&ImageRules::DALL_E_2),
                _ => return None,
            },
            Api::IdeogramGenerate => InputRules::Image(&ImageRules::IDEOGRAM_V2),
            Api::GeminiImage => InputRules::Image(&ImageRules::GEMINI_IMAGE),
            Api::ElevenLabsSpeech => InputRules::Speech,
            Api::PexelsVideos | Api::PexelsPhotos => InputRules::Stock,
            Api::ShotstackRender => InputRules::Render,
            Api::GeminiVeo => InputRules::Video(&VideoRules::VEO_3_1),
        })
    }

    pub fn text_limits(&self, model: &ModelConfig) -> TextLimits {
        let max_temperature = self
            .providers
            .get(&model.provider)
            .map_or(1.0, |p| p.kind.max_temperature());
        TextLimits {
            max_output_tokens: model.max_output_tokens,
            max_temperature,
            api: model.api,
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
