//! An operator's change to fleet-wide configuration (providers, models), or a
//! user's to their instance, for
//! the audit log: what it was and what it became, in the change's own
//! transaction. What is recorded never holds a secret (rows carry a key's
//! last four characters at most).

use electrons_domain::db::audit;
use serde::Serialize;
use serde_json::json;

use crate::auth::OPERATOR;

pub(super) async fn record<T: Serialize>(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    action: &str,
    target: &str,
    before: Option<T>,
    after: Option<T>,
) -> Result<(), sqlx::Error> {
    record_by(tx, OPERATOR, action, target, before, after).await
}

/// The same, made by `actor` (the operator, or a user acting by their role).
pub(super) async fn record_by<T: Serialize>(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    actor: &str,
    action: &str,
    target: &str,
    before: Option<T>,
    after: Option<T>,
) -> Result<(), sqlx::Error> {
    audit::record(
        &mut **tx,
        audit::Entry {
            actor,
            action,
            target: target.to_string(),
            project_id: None,
            before: before.map(|row| json!(row)),
            after: after.map(|row| json!(row)),
        },
    )
    .await
}
