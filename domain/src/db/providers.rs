//! Providers as the admin API writes them: where a provider is, what it
//! speaks, and its key, sealed (`crate::keyring`), of which only the last four
//! characters are ever read back. Every change notifies `de_catalog`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct ProviderRecord {
    pub id: String,
    pub kind: String,
    pub base_url: String,
    pub timeout_ms: i32,
    /// The last four characters of the key set through the API.
    pub api_key_last4: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a write does to the provider's key.
pub enum KeyChange {
    Keep,
    Set { sealed: String, last4: String },
    Clear,
}

pub struct ProviderWrite<'a> {
    pub kind: &'a str,
    pub base_url: &'a str,
    pub timeout_ms: i32,
    pub key: KeyChange,
}

const COLUMNS: &str = "id, kind, base_url, timeout_ms, api_key_last4, created_at, updated_at";

/// The deployment's providers (not instances' own keys).
pub async fn list(pool: &PgPool) -> Result<Vec<ProviderRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM providers WHERE instance_id IS NULL ORDER BY id"
    ))
    .fetch_all(pool)
    .await
}

pub async fn get(db: impl PgExecutor<'_>, id: &str) -> Result<Option<ProviderRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM providers WHERE id = $1 AND instance_id IS NULL"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Creates or replaces the provider. Setting or clearing the key also clears
/// the first migration's plaintext column.
pub async fn put(db: impl PgExecutor<'_>, id: &str, write: &ProviderWrite<'_>) -> Result<(), sqlx::Error> {
    let (change, sealed, last4) = match &write.key {
        KeyChange::Keep => ("keep", None, None),
        KeyChange::Set { sealed, last4 } => ("set", Some(sealed.as_str()), Some(last4.as_str())),
        KeyChange::Clear => ("clear", None, None),
    };
    sqlx::query(
        "INSERT INTO providers (id, kind, base_url, timeout_ms, api_key_sealed, api_key_last4)
         VALUES ($1, $2, $3, $4, $6, $7)
         ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, base_url = EXCLUDED.base_url,
             timeout_ms = EXCLUDED.timeout_ms, updated_at = now(),
             api_key_sealed = CASE $5 WHEN 'keep' THEN providers.api_key_sealed ELSE EXCLUDED.api_key_sealed END,
             api_key_last4 = CASE $5 WHEN 'keep' THEN providers.api_key_last4 ELSE EXCLUDED.api_key_last4 END,
             api_key = CASE $5 WHEN 'keep' THEN providers.api_key END",
    )
    .bind(id)
    .bind(write.kind)
    .bind(write.base_url)
    .bind(write.timeout_ms)
    .bind(change)
    .bind(sealed)
    .bind(last4)
    .execute(db)
    .await?;
    Ok(())
}

/// `false` if there was none. Refused (a foreign-key error) while models use
/// it; instances' own keys for it go with it.
pub async fn delete(db: impl PgExecutor<'_>, id: &str) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM providers WHERE id = $1 AND instance_id IS NULL")
        .bind(id)
        .execute(db)
        .await?;
    Ok(deleted.rows_affected() > 0)
}

/// A key to seal again: sealed under another key than the current one, or
/// still in the plaintext column.
pub struct StoredKey {
    pub id: String,
    pub sealed: Option<String>,
    pub plaintext: Option<String>,
}

pub async fn stored_keys(pool: &PgPool) -> Result<Vec<StoredKey>, sqlx::Error> {
    let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT id, api_key_sealed, api_key FROM providers
         WHERE api_key_sealed IS NOT NULL OR api_key IS NOT NULL ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, sealed, plaintext)| StoredKey { id, sealed, plaintext })
        .collect())
}

/// Replaces a key with `sealed`, if it is still what was read (`was`), so a
/// concurrent change through the API is not overwritten.
pub async fn reseal(pool: &PgPool, id: &str, was: &StoredKey, sealed: &str, last4: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE providers SET api_key_sealed = $2, api_key_last4 = $3, api_key = NULL
         WHERE id = $1 AND api_key_sealed IS NOT DISTINCT FROM $4 AND api_key IS NOT DISTINCT FROM $5",
    )
    .bind(id)
    .bind(sealed)
    .bind(last4)
    .bind(&was.sealed)
    .bind(&was.plaintext)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A new provider gets a conservative request limit (60 a minute, 10 at
/// once), since no call goes out without a grant; raise it through the
/// rate-limit admin API once the account's limits are known. A provider that
/// has one keeps it.
pub async fn ensure_default_limit(db: impl PgExecutor<'_>, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO rate_limits (id, provider_id, requests_per_interval, request_interval_ms, request_burst)
         SELECT $1, $1, 60, 60000, 10
         WHERE NOT EXISTS (SELECT 1 FROM rate_limits WHERE provider_id = $1 AND model_id IS NULL)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// An instance's own key for a provider: a provider row `<provider>@<instance>`
/// that follows its base provider's kind, URL and timeout, with its own rate
/// limits.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Credential {
    #[serde(rename = "provider")]
    pub base_provider_id: String,
    #[serde(rename = "instance")]
    pub instance_id: String,
    /// The provider id its calls and rate limits go under.
    #[serde(rename = "credential_id")]
    pub id: String,
    pub api_key_last4: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const CREDENTIAL_COLUMNS: &str = "base_provider_id, instance_id, id, api_key_last4, created_at, updated_at";

/// The provider id of `instance`'s own key for `provider`.
pub fn credential_id(provider: &str, instance: &str) -> String {
    format!("{provider}@{instance}")
}

pub async fn credentials(pool: &PgPool, instance: &str) -> Result<Vec<Credential>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CREDENTIAL_COLUMNS} FROM providers WHERE instance_id = $1 ORDER BY id"
    ))
    .bind(instance)
    .fetch_all(pool)
    .await
}

pub async fn credential(
    db: impl PgExecutor<'_>,
    provider: &str,
    instance: &str,
) -> Result<Option<Credential>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CREDENTIAL_COLUMNS} FROM providers WHERE base_provider_id = $1 AND instance_id = $2"
    ))
    .bind(provider)
    .bind(instance)
    .fetch_optional(db)
    .await
}

/// Sets `instance`'s own key for `provider` (sealed, bound to the
/// credential's row id). A new credential starts with copies of the base
/// provider's rate limits, to tune to the instance's account through the
/// rate-limit API; `true` when it is new.
pub async fn put_credential(
    tx: &mut sqlx::PgConnection,
    provider: &str,
    instance: &str,
    sealed: &str,
    last4: &str,
) -> Result<bool, sqlx::Error> {
    let id = credential_id(provider, instance);
    let created: bool = sqlx::query_scalar(
        "INSERT INTO providers (id, kind, base_url, timeout_ms, api_key_sealed, api_key_last4,
                                instance_id, base_provider_id)
         SELECT $1, kind, base_url, timeout_ms, $4, $5, $3, id FROM providers
         WHERE id = $2 AND instance_id IS NULL
         ON CONFLICT (id) DO UPDATE SET api_key_sealed = EXCLUDED.api_key_sealed,
             api_key_last4 = EXCLUDED.api_key_last4, api_key = NULL, updated_at = now()
         RETURNING (xmax = 0)",
    )
    .bind(&id)
    .bind(provider)
    .bind(instance)
    .bind(sealed)
    .bind(last4)
    .fetch_one(&mut *tx)
    .await?;
    if created {
        sqlx::query(
            "INSERT INTO rate_limits (id, provider_id, model_id, requests_per_interval, request_interval_ms,
                                      request_burst, arrival_margin_ms, tokens_per_interval,
                                      input_tokens_per_interval, output_tokens_per_interval, token_interval_ms,
                                      max_concurrent, lease_ms)
             SELECT id || '@' || $3, $1, model_id, requests_per_interval, request_interval_ms, request_burst,
                    arrival_margin_ms, tokens_per_interval, input_tokens_per_interval,
                    output_tokens_per_interval, token_interval_ms, max_concurrent, lease_ms
             FROM rate_limits WHERE provider_id = $2
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&id)
        .bind(provider)
        .bind(instance)
        .execute(&mut *tx)
        .await?;
        ensure_default_limit(&mut *tx, &id).await?;
    }
    Ok(created)
}

/// Removes `instance`'s own key for `provider` (and its rate limits); its
/// projects' next calls use the deployment's key. `false` if there was none.
pub async fn delete_credential(db: impl PgExecutor<'_>, provider: &str, instance: &str) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM providers WHERE base_provider_id = $1 AND instance_id = $2")
        .bind(provider)
        .bind(instance)
        .execute(db)
        .await?;
    Ok(deleted.rows_affected() > 0)
}
