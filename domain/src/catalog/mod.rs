//! The model catalog: which models exist, which provider serves each, where that
//! provider lives and with which credentials. Loaded from PostgreSQL and refreshed
//! in the background, so configuration changes reach running processes without a
//! restart. Which API serves a model, and the rules of its input, come from the
//! table in `apis`.

use std::{collections::HashMap, sync::Arc, time::Duration};

use serde::Serialize;
use sqlx::PgPool;
use tokio::sync::RwLock;
use uuid::Uuid;

use crate::{
    config::provider_override,
    db::{
        listener::{self, Heard},
        providers::credential_id,
    },
    http_mapping::HttpMapping,
    input::{FieldError, InputRules, JobInput, TextLimits},
    job::Modality,
    keyring::Keyring,
    pricing::Pricing,
    prompt_template::PromptTemplate,
    secret::Secret,
    Shutdown,
};

mod apis;

pub use apis::{Api, ApiSpec, ProviderKind, API_SPECS};

#[derive(Clone, Debug)]
pub struct ProviderConfig {
    pub id: String,
    pub kind: ProviderKind,
    pub base_url: String,
    pub api_key: Option<Secret>,
    /// Where `api_key` came from, for the admin API (never the key itself).
    pub key_source: KeySource,
    pub timeout: Duration,
    /// For an instance's own key (`<provider>@<instance>`): the provider it
    /// stands in for, and the instance.
    pub credential_of: Option<(String, String)>,
}

/// Where a provider's key comes from; the admin API shows this and the last
/// four characters, never the key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum KeySource {
    None,
    /// This process's override (`electrons dev` pointing at the simulator).
    Override,
    /// `DE_PROVIDER_<ID>_API_KEY`.
    Environment,
    /// Set through the admin API, sealed in the database.
    Database {
        last4: String,
    },
    /// The first migration's plaintext column, until `rotate-secrets` seals it.
    Plaintext,
    /// Sealed in the database, but this process's keyring cannot open it.
    Unreadable,
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
    pub pricing: Pricing,
    pub status: ModelStatus,
    /// When the model became `deprecated` (its submits say so in a `Deprecation` header).
    pub deprecated_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Retry a 2xx the provider billed but DE could not use (off: such an
    /// answer fails the job rather than being paid for again).
    pub retry_unusable_answers: bool,
    /// Generate again, as a new attempt, when the provider no longer has an
    /// output it returned (404/410, expired); off: the job fails `output_unavailable`.
    pub regenerate_unavailable_outputs: bool,
    /// A text model's system prompt, prompt wrapper and default settings.
    pub prompt_template: Option<PromptTemplate>,
    /// How a model of an `http` provider is called (every such model has one).
    pub http_mapping: Option<HttpMapping>,
    /// The models a job of this one moves to, in order, when its provider is
    /// exhausted (unless the job names its own).
    pub fallbacks: Vec<String>,
}

impl ModelConfig {
    /// A job's input for this model: parsed under `rules` and, for a model of
    /// an `http` provider, asking only for what its mapping sends.
    pub fn parse_input(&self, rules: &InputRules, value: &serde_json::Value) -> Result<JobInput, FieldError> {
        let input = JobInput::parse(rules, value)?;
        if let Some(mapping) = &self.http_mapping {
            mapping.check_input_fields(&self.id, self.modality, value)?;
        }
        Ok(input)
    }

    /// The input as the provider is asked: a text job's with the model's
    /// prompt template applied (and what the template supplied), else as given.
    pub fn prepared(&self, input: JobInput) -> (JobInput, Option<PromptTemplate>) {
        match (input, &self.prompt_template) {
            (JobInput::Text(text), Some(template)) => {
                let (sent, applied) = template.apply(&text);
                (JobInput::Text(sent), Some(applied))
            }
            (input, _) => (input, None),
        }
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

/// A model's standing: `active` and `beta` run, `deprecated` runs and says
/// so, `disabled` is not in the catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ModelStatus {
    Active,
    Beta,
    Deprecated,
    Disabled,
}

#[derive(sqlx::FromRow)]
struct ProviderRow {
    id: String,
    kind: String,
    base_url: String,
    api_key: Option<String>,
    api_key_sealed: Option<String>,
    api_key_last4: Option<String>,
    timeout_ms: i32,
    instance_id: Option<String>,
    base_provider_id: Option<String>,
}

/// What the sealed column of a provider's key is bound to.
pub fn provider_key_binding(provider: &str) -> String {
    format!("providers.api_key:{provider}")
}

#[derive(sqlx::FromRow)]
struct ModelRow {
    id: String,
    modality: Modality,
    provider_id: String,
    provider_model: String,
    default_max_tokens: i32,
    max_output_tokens: i32,
    pricing: sqlx::types::Json<serde_json::Value>,
    status: ModelStatus,
    deprecated_at: Option<chrono::DateTime<chrono::Utc>>,
    retry_unusable_answers: bool,
    regenerate_unavailable_outputs: bool,
    prompt_template: Option<sqlx::types::Json<serde_json::Value>>,
    http_mapping: Option<sqlx::types::Json<serde_json::Value>>,
    fallbacks: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Catalog {
    pub models: HashMap<String, ModelConfig>,
    /// The deployment's providers, and instances' own keys (`<provider>@<instance>`).
    pub providers: HashMap<String, ProviderConfig>,
    /// The instance of each project whose instance has keys of its own.
    pub project_instances: HashMap<Uuid, String>,
}

impl Catalog {
    pub async fn load(pool: &PgPool, overrides: &Overrides, keyring: Option<&Keyring>) -> Result<Self, sqlx::Error> {
        let providers: Vec<ProviderRow> = sqlx::query_as(
            "SELECT id, kind, base_url, api_key, api_key_sealed, api_key_last4, timeout_ms, instance_id,
                    base_provider_id
             FROM providers",
        )
        .fetch_all(pool)
        .await?;
        let providers: HashMap<_, _> = providers
            .into_iter()
            .filter_map(|row| {
                let Some(kind) = ProviderKind::parse(&row.kind) else {
                    tracing::warn!(provider = %row.id, kind = %row.kind, "unknown provider kind; its models are unavailable");
                    return None;
                };
                let local = overrides.get(&row.id).cloned().unwrap_or_default();
                let (api_key, key_source) = provider_key(&row.id, local.api_key, &row, keyring);
                let base_url = local
                    .base_url
                    .or_else(|| provider_override(&row.id, "BASE_URL"))
                    .unwrap_or(row.base_url);
                let timeout = Duration::from_millis(row.timeout_ms.max(1) as u64);
                let credential_of = row.base_provider_id.clone().zip(row.instance_id.clone());
                Some((
                    row.id.clone(),
                    ProviderConfig {
                        id: row.id,
                        kind,
                        base_url: base_url.trim_end_matches('/').into(),
                        api_key,
                        key_source,
                        timeout,
                        credential_of,
                    },
                ))
            })
            .collect();

        let providers = follow_bases(providers);

        let rows: Vec<ModelRow> = sqlx::query_as(
            "SELECT id, modality, provider_id, provider_model, default_max_tokens, max_output_tokens,
                    pricing, status, deprecated_at, retry_unusable_answers, regenerate_unavailable_outputs, prompt_template, http_mapping,
                    fallbacks
             FROM models WHERE enabled AND status <> 'disabled'",
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
                let http_mapping = match (provider.kind, row.http_mapping) {
                    (ProviderKind::Http, Some(stored)) => Some(mapping_of(&row.id, stored.0)?),
                    (ProviderKind::Http, None) => {
                        tracing::warn!(model = %row.id, "a model of an http provider needs an http_mapping; the model is unavailable");
                        return None;
                    }
                    _ => None,
                };
                let model = ModelConfig {
                    id: row.id.clone(),
                    modality: row.modality,
                    provider: row.provider_id,
                    provider_model: row.provider_model,
                    api,
                    default_max_tokens: row.default_max_tokens.max(1) as u32,
                    max_output_tokens: row.max_output_tokens.max(1) as u32,
                    pricing: pricing_of(&row.id, row.pricing.0),
                    status: row.status,
                    deprecated_at: row.deprecated_at,
                    retry_unusable_answers: row.retry_unusable_answers,
                    regenerate_unavailable_outputs: row.regenerate_unavailable_outputs,
                    prompt_template: row.prompt_template.and_then(|stored| template_of(&row.id, stored.0)),
                    http_mapping,
                    fallbacks: row.fallbacks,
                };
                Some((row.id, model))
            })
            .collect();
        let project_instances: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT id, instance_id FROM projects p
             WHERE EXISTS (SELECT 1 FROM providers c WHERE c.instance_id = p.instance_id)",
        )
        .fetch_all(pool)
        .await?;
        Ok(Self {
            models,
            providers,
            project_instances: project_instances.into_iter().collect(),
        })
    }

    /// Who a job of `project` calls for `model`: its instance's own key for the
    /// model's provider if it has one, else the deployment's.
    pub fn provider_for(&self, model: &ModelConfig, project: Uuid) -> Option<&ProviderConfig> {
        let own = self
            .project_instances
            .get(&project)
            .and_then(|instance| self.providers.get(&credential_id(&model.provider, instance)));
        own.or_else(|| self.providers.get(&model.provider))
    }

    /// The provider a provider id stands in for: itself, or for an instance's
    /// own key, the deployment's provider.
    pub fn base_provider<'a>(&'a self, provider: &'a str) -> &'a str {
        self.providers
            .get(provider)
            .and_then(|p| p.credential_of.as_ref())
            .map_or(provider, |(base, _)| base.as_str())
    }

    /// What a job's input must satisfy for `model`, checked at submit and again
    /// by the worker. `None` for a provider model the adapter does not know.
    pub fn input_rules(&self, model: &ModelConfig) -> Option<InputRules> {
        (model.api.spec().input_rules)(self, model)
    }

    /// How long a clip of `model` is when a job names no duration.
    pub fn default_video_seconds(&self, model: &ModelConfig) -> u32 {
        match self.input_rules(model) {
            Some(InputRules::Video(rules)) => rules.default_duration,
            _ => 8,
        }
    }

    /// The limits every text API shares: the model's output ceiling and its
    /// provider's temperature range. An API's row adds its own refusals.
    pub fn text_limits(&self, model: &ModelConfig) -> TextLimits {
        let max_temperature = self
            .providers
            .get(&model.provider)
            .map_or(1.0, |p| p.kind.max_temperature());
        TextLimits {
            max_output_tokens: model.max_output_tokens,
            max_temperature,
            prefill_no_trailing_whitespace: false,
            stop_needs_non_whitespace: false,
        }
    }
}

/// An instance's own key is called where its base provider is called as this
/// process sees it (an override or `DE_PROVIDER_<ID>_BASE_URL` included); one
/// whose base is gone is dropped.
fn follow_bases(mut providers: HashMap<String, ProviderConfig>) -> HashMap<String, ProviderConfig> {
    let bases: HashMap<String, (ProviderKind, String, Duration)> = providers
        .values()
        .filter(|p| p.credential_of.is_none())
        .map(|p| (p.id.clone(), (p.kind, p.base_url.clone(), p.timeout)))
        .collect();
    providers.retain(|_, provider| {
        let Some((base, _)) = &provider.credential_of else {
            return true;
        };
        let Some((kind, base_url, timeout)) = bases.get(base) else {
            return false;
        };
        (provider.kind, provider.base_url, provider.timeout) = (*kind, base_url.clone(), *timeout);
        true
    });
    providers
}

/// A provider's key: this process's override, else the environment's, else
/// the sealed one (opened with the keyring), else the legacy plaintext column.
fn provider_key(
    id: &str,
    local: Option<Secret>,
    row: &ProviderRow,
    keyring: Option<&Keyring>,
) -> (Option<Secret>, KeySource) {
    if let Some(key) = local {
        return (Some(key), KeySource::Override);
    }
    if let Some(key) = provider_override(id, "API_KEY") {
        return (Some(Secret::new(key)), KeySource::Environment);
    }
    if let Some(sealed) = &row.api_key_sealed {
        let opened = keyring.map(|ring| ring.open(sealed, &provider_key_binding(id)));
        return match opened {
            Some(Ok(key)) => (
                Some(key),
                KeySource::Database {
                    last4: row.api_key_last4.clone().unwrap_or_default(),
                },
            ),
            Some(Err(error)) => {
                tracing::warn!(provider = %id, %error, "the provider's sealed key does not open; it has no key");
                (None, KeySource::Unreadable)
            }
            None => {
                tracing::warn!(provider = %id, "the provider's key is sealed and DE_SECRET_KEYS is not set; it has no key");
                (None, KeySource::Unreadable)
            }
        };
    }
    match &row.api_key {
        Some(key) => (Some(Secret::new(key.clone())), KeySource::Plaintext),
        None => (None, KeySource::None),
    }
}

/// A model's pricing as stored; one that no longer parses leaves the model
/// unpriced (so budgeted projects cannot run it) rather than unavailable.
fn pricing_of(model: &str, stored: serde_json::Value) -> Pricing {
    match serde_json::from_value::<Pricing>(stored) {
        Ok(pricing) => pricing,
        Err(error) => {
            tracing::warn!(%model, %error, "the model's pricing does not parse; it is unpriced");
            Pricing::default()
        }
    }
}

/// A model's prompt template as stored; one that no longer parses is left
/// out (the model runs without it) rather than making the model unavailable.
fn template_of(model: &str, stored: serde_json::Value) -> Option<PromptTemplate> {
    match serde_json::from_value::<PromptTemplate>(stored) {
        Ok(template) => Some(template),
        Err(error) => {
            tracing::warn!(%model, %error, "the model's prompt template does not parse; it runs without one");
            None
        }
    }
}

/// A model's HTTP mapping as stored; without one that parses the model cannot
/// be called, so it is unavailable.
fn mapping_of(model: &str, stored: serde_json::Value) -> Option<HttpMapping> {
    match serde_json::from_value::<HttpMapping>(stored) {
        Ok(mapping) => Some(mapping),
        Err(error) => {
            tracing::warn!(%model, %error, "the model's http_mapping does not parse; the model is unavailable");
            None
        }
    }
}

/// A shared, periodically refreshed catalog.
#[derive(Clone)]
pub struct CatalogHandle {
    current: Arc<RwLock<Arc<Catalog>>>,
    overrides: Arc<Overrides>,
    keyring: Option<Arc<Keyring>>,
}

/// Where every process hears that models or providers changed (the
/// `catalog_changed` trigger).
pub const CHANNEL: &str = "de_catalog";

impl CatalogHandle {
    pub async fn load(pool: &PgPool, overrides: Overrides, keyring: Option<Keyring>) -> Result<Self, sqlx::Error> {
        let catalog = Catalog::load(pool, &overrides, keyring.as_ref()).await?;
        Ok(Self {
            current: Arc::new(RwLock::new(Arc::new(catalog))),
            overrides: Arc::new(overrides),
            keyring: keyring.map(Arc::new),
        })
    }

    pub async fn get(&self) -> Arc<Catalog> {
        self.current.read().await.clone()
    }

    pub async fn reload(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let fresh = Catalog::load(pool, &self.overrides, self.keyring.as_deref()).await?;
        *self.current.write().await = Arc::new(fresh);
        Ok(())
    }

    /// Reloads whenever PostgreSQL says models or providers changed, and every
    /// `every` anyway (a notification lost while the listener reconnects);
    /// a failed reload keeps the last catalog.
    pub fn spawn_refresh(&self, pool: PgPool, every: Duration, shutdown: Shutdown) {
        let changed = Arc::new(tokio::sync::Notify::new());
        let heard = changed.clone();
        tokio::spawn(listener::follow(
            pool.clone(),
            CHANNEL,
            "catalog",
            shutdown.clone(),
            move |event| {
                // Reconnected: whatever changed meanwhile is unknown too.
                if matches!(event, Heard::Changed(_) | Heard::Listening) {
                    heard.notify_one();
                }
            },
        ));
        let handle = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = changed.notified() => {}
                    _ = tokio::time::sleep(every) => {}
                }
                if let Err(error) = handle.reload(&pool).await {
                    tracing::warn!(%error, "catalog refresh failed; keeping the previous one");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    //! Today's mapping from providers and models to wire formats and input rules,
    //! pinned before it moves into one table per API: the move must not change it.

    use super::*;
    use crate::input::{ImageRules, VideoRules};

    fn provider(id: &str, kind: ProviderKind) -> ProviderConfig {
        ProviderConfig {
            id: id.into(),
            kind,
            base_url: "http://127.0.0.1:1".into(),
            api_key: None,
            key_source: KeySource::None,
            timeout: Duration::from_secs(1),
            credential_of: None,
        }
    }

    fn model(provider: &str, modality: Modality, provider_model: &str, api: Api) -> ModelConfig {
        ModelConfig {
            id: format!("{provider}-{provider_model}"),
            modality,
            provider: provider.into(),
            provider_model: provider_model.into(),
            api,
            default_max_tokens: 1024,
            max_output_tokens: 4096,
            pricing: Pricing::default(),
            status: ModelStatus::Active,
            deprecated_at: None,
            retry_unusable_answers: false,
            regenerate_unavailable_outputs: false,
            prompt_template: None,
            http_mapping: None,
            fallbacks: Vec::new(),
        }
    }

    #[test]
    fn every_api_keeps_its_wire_name() {
        let names = [
            (Api::OpenAiChat, "open_ai_chat"),
            (Api::AnthropicMessages, "anthropic_messages"),
            (Api::OpenAiImages, "open_ai_images"),
            (Api::IdeogramGenerate, "ideogram_generate"),
            (Api::GeminiImage, "gemini_image"),
            (Api::ElevenLabsSpeech, "eleven_labs_speech"),
            (Api::PexelsVideos, "pexels_videos"),
            (Api::PexelsPhotos, "pexels_photos"),
            (Api::ShotstackRender, "shotstack_render"),
            (Api::GeminiVeo, "gemini_veo"),
            (Api::HttpText, "http_text"),
            (Api::HttpImage, "http_image"),
        ];
        for (api, name) in names {
            assert_eq!(serde_json::to_value(api).ok(), Some(serde_json::json!(name)), "{api:?}");
        }
    }

    #[test]
    fn the_providers_kinds_are_read_from_their_database_names() {
        let kinds = [
            ("openai_chat", ProviderKind::OpenAiChat),
            ("anthropic_messages", ProviderKind::AnthropicMessages),
            ("ideogram", ProviderKind::Ideogram),
            ("gemini", ProviderKind::Gemini),
            ("elevenlabs", ProviderKind::ElevenLabs),
            ("pexels", ProviderKind::Pexels),
            ("shotstack", ProviderKind::Shotstack),
            ("http", ProviderKind::Http),
        ];
        for (name, kind) in kinds {
            assert_eq!(ProviderKind::parse(name), Some(kind), "{name}");
        }
        assert_eq!(ProviderKind::parse("openai"), None);
        assert_eq!(ProviderKind::OpenAiChat.max_temperature(), 2.0);
        assert_eq!(ProviderKind::AnthropicMessages.max_temperature(), 1.0);
        assert_eq!(ProviderKind::Http.max_temperature(), 2.0);
    }

    #[test]
    fn every_seeded_model_has_its_api_and_nothing_else_has_one() {
        use {Modality as M, ProviderKind as K};
        // (kind, modality, provider model) as the seed migrations write them.
        let seeded = [
            (K::OpenAiChat, M::Text, "gpt-4o-mini", Api::OpenAiChat),
            (
                K::AnthropicMessages,
                M::Text,
                "claude-3-5-haiku-20241022",
                Api::AnthropicMessages,
            ),
            (K::OpenAiChat, M::Image, "dall-e-3", Api::OpenAiImages),
            (K::Ideogram, M::Image, "V_2", Api::IdeogramGenerate),
            (K::Gemini, M::Image, "gemini-2.5-flash-image", Api::GeminiImage),
            (K::ElevenLabs, M::Audio, "eleven_multilingual_v2", Api::ElevenLabsSpeech),
            (K::Pexels, M::Media, "videos", Api::PexelsVideos),
            (K::Pexels, M::Media, "photos", Api::PexelsPhotos),
            (K::Shotstack, M::Video, "v1", Api::ShotstackRender),
            (K::Gemini, M::Video, "veo-3.1-generate-preview", Api::GeminiVeo),
        ];
        for (kind, modality, provider_model, api) in seeded {
            assert_eq!(
                Api::of(kind, modality, provider_model),
                Some(api),
                "{kind:?} {modality:?}"
            );
            assert_eq!(
                api.is_long_running(),
                matches!(api, Api::ShotstackRender | Api::GeminiVeo)
            );
        }
        for (kind, modality, provider_model) in [
            (K::OpenAiChat, M::Audio, "tts-1"),
            (K::AnthropicMessages, M::Image, "claude"),
            (K::Pexels, M::Media, "music"),
            (K::Shotstack, M::Image, "v1"),
            (K::ElevenLabs, M::Text, "eleven_multilingual_v2"),
        ] {
            assert_eq!(
                Api::of(kind, modality, provider_model),
                None,
                "{kind:?} {modality:?} {provider_model}"
            );
        }
    }

    #[test]
    fn every_api_gets_its_input_rules() {
        let mut catalog = Catalog::default();
        for (id, kind) in [
            ("openai", ProviderKind::OpenAiChat),
            ("anthropic", ProviderKind::AnthropicMessages),
        ] {
            catalog.providers.insert(id.into(), provider(id, kind));
        }
        let text = |provider: &str, api: Api| catalog.input_rules(&model(provider, Modality::Text, "m", api));
        match text("openai", Api::OpenAiChat) {
            Some(InputRules::Text(limits)) => {
                assert_eq!((limits.max_output_tokens, limits.max_temperature), (4096, 2.0));
                assert!(!limits.prefill_no_trailing_whitespace && !limits.stop_needs_non_whitespace);
            }
            other => panic!("openai text: {other:?}"),
        }
        match text("anthropic", Api::AnthropicMessages) {
            Some(InputRules::Text(limits)) => {
                assert_eq!(limits.max_temperature, 1.0);
                assert!(limits.prefill_no_trailing_whitespace && limits.stop_needs_non_whitespace);
            }
            other => panic!("anthropic text: {other:?}"),
        }
        // A model whose provider is gone keeps the stricter temperature.
        match text("gone", Api::OpenAiChat) {
            Some(InputRules::Text(limits)) => assert_eq!(limits.max_temperature, 1.0),
            other => panic!("text without provider: {other:?}"),
        }

        let image = |provider_model: &str, api: Api| match catalog.input_rules(&model(
            "p",
            Modality::Image,
            provider_model,
            api,
        )) {
            Some(InputRules::Image(rules)) => Some(*rules),
            None => None,
            Some(other) => panic!("image rules expected: {other:?}"),
        };
        assert_eq!(image("dall-e-3", Api::OpenAiImages), Some(ImageRules::DALL_E_3));
        assert_eq!(image("dall-e-2", Api::OpenAiImages), Some(ImageRules::DALL_E_2));
        assert_eq!(
            image("dall-e-9", Api::OpenAiImages),
            None,
            "an unknown DALL·E cannot be called"
        );
        assert_eq!(image("V_2", Api::IdeogramGenerate), Some(ImageRules::IDEOGRAM_V2));
        assert_eq!(image("anything", Api::GeminiImage), Some(ImageRules::GEMINI_IMAGE));

        let rules = |modality: Modality, api: Api| catalog.input_rules(&model("p", modality, "x", api));
        assert!(matches!(
            rules(Modality::Audio, Api::ElevenLabsSpeech),
            Some(InputRules::Speech)
        ));
        assert!(matches!(
            rules(Modality::Media, Api::PexelsVideos),
            Some(InputRules::Stock)
        ));
        assert!(matches!(
            rules(Modality::Media, Api::PexelsPhotos),
            Some(InputRules::Stock)
        ));
        assert!(matches!(
            rules(Modality::Video, Api::ShotstackRender),
            Some(InputRules::Render)
        ));
        match rules(Modality::Video, Api::GeminiVeo) {
            Some(InputRules::Video(video)) => assert_eq!(*video, VideoRules::VEO_3_1),
            other => panic!("veo: {other:?}"),
        }
    }
}
