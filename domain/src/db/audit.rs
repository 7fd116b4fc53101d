//! The admin audit log: one entry per change, written in the change's own
//! transaction, with anything secret masked before it is stored.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// Field names whose string values are secrets (`api_key`, `webhook_secret`,
/// `token`, …); `key_prefix`-style fields are shown parts and are kept.
const SECRET_NAMES: [&str; 5] = ["key", "secret", "token", "password", "credential"];
const KEPT_NAMES: [&str; 3] = ["prefix", "key_id", "last4"];

pub struct Entry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: String,
    pub project_id: Option<Uuid>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Logged {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub project_id: Option<Uuid>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

pub async fn record(executor: impl sqlx::PgExecutor<'_>, entry: Entry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO admin_audit (id, actor, action, target, project_id, before, after)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::now_v7())
    .bind(entry.actor)
    .bind(entry.action)
    .bind(&entry.target)
    .bind(entry.project_id)
    .bind(entry.before.map(masked))
    .bind(entry.after.map(masked))
    .execute(executor)
    .await?;
    Ok(())
}

/// Which entries to read: newest first, before a cursor entry.
pub struct AuditFilter {
    pub project: Option<Uuid>,
    pub action: Option<String>,
    pub before: Option<Uuid>,
    pub limit: i64,
}

pub async fn list(pool: &PgPool, filter: &AuditFilter) -> Result<Vec<Logged>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, at, actor, action, target, project_id, before, after FROM admin_audit
         WHERE ($1::uuid IS NULL OR project_id = $1) AND ($2::text IS NULL OR action = $2)
           AND ($3::uuid IS NULL OR id < $3)
         ORDER BY id DESC LIMIT $4",
    )
    .bind(filter.project)
    .bind(&filter.action)
    .bind(filter.before)
    .bind(filter.limit)
    .fetch_all(pool)
    .await
}

/// `value` with every secret string replaced by its last four characters.
pub fn masked(value: Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(name, value)| {
                    let value = match value {
                        Value::String(text) if is_secret_name(&name) => Value::String(mask(&text)),
                        other => masked(other),
                    };
                    (name, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(masked).collect()),
        other => other,
    }
}

fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_NAMES.iter().any(|s| name.contains(s)) && !KEPT_NAMES.iter().any(|k| name.contains(k))
}

/// `…abcd`: enough to tell two secrets apart, nothing to use. Short ones hide whole.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        return "…".into();
    }
    format!("…{}", chars[chars.len() - 4..].iter().collect::<String>())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn masks_secret_fields_at_any_depth_and_keeps_the_rest() {
        let value = json!({
            "name": "openai", "api_key": "sk-live-abcdefghijklmnop", "prefix": "de_live_Ab12",
            "headers": [{"Authorization-Token": "Bearer 1234567890abcdef"}], "key": "short",
            "limits": {"requests": 5}
        });
        let masked = masked(value);
        assert_eq!(masked["api_key"], "…mnop");
        assert_eq!(masked["headers"][0]["Authorization-Token"], "…cdef");
        assert_eq!(masked["key"], "…");
        assert_eq!(masked["prefix"], "de_live_Ab12");
        assert_eq!(masked["name"], "openai");
        assert_eq!(masked["limits"]["requests"], 5);
        assert!(!masked.to_string().contains("sk-live"));
    }
}
