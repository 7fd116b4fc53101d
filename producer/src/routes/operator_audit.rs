//! An operator's change to fleet-wide configuration (providers, models), for
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
    audit::record(
        &mut **tx,
        audit::Entry {
            actor: OPERATOR,
            action,
            target: target.to_string(),
            project_id: None,
            before: before.map(|row| json!(row)),
            after: after.map(|row| json!(row)),
        },
    )
    .await
}
