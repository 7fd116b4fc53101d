//! Publishes poll messages for running jobs that hold no worker — waiting on a
//! provider operation, or on the next try at copying a committed answer — whose
//! `poll_at` has come. Each due poll is first claimed and numbered in one
//! committed statement (so two schedulers never publish the same one, and the
//! worker taking the message sees its number); its `poll_at` moves
//! `REPUBLISH_AFTER` on, so a message lost with a broker is published again,
//! and an unconfirmed one is due again at once.

use std::time::Duration;

use electrons_domain::{
    db::{self, jobs::DueJob},
    queue::Publisher,
};
use sqlx::PgPool;

/// Longer than a poll message waits in a healthy queue; the worker clears
/// `poll_at` when it takes the poll, so this only matters for lost messages.
const REPUBLISH_AFTER: Duration = Duration::from_secs(120);

pub async fn run(pool: &PgPool, publisher: &Publisher, batch: i64) {
    loop {
        match publish_batch(pool, publisher, batch).await {
            Ok(published) if published as i64 >= batch => continue,
            Ok(_) => return,
            Err(error) => {
                tracing::error!(%error, "publishing polls failed");
                return;
            }
        }
    }
}

async fn publish_batch(pool: &PgPool, publisher: &Publisher, batch: i64) -> Result<usize, sqlx::Error> {
    if !publisher.is_connected().await {
        return Ok(0);
    }
    let due = db::polls::claim_due(pool, batch, REPUBLISH_AFTER).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let published = crate::relay::publish_confirmed(publisher, &due, true).await;
    let unconfirmed: Vec<DueJob> = due.iter().filter(|p| !published.contains(&p.id)).cloned().collect();
    if !unconfirmed.is_empty() {
        db::polls::unpublished(pool, &unconfirmed).await?;
    }
    tracing::debug!(polls = published.len(), "published polls");
    Ok(due.len())
}
