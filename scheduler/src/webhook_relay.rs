//! Publishes webhook deliveries that are due: retries whose wait ended, events
//! whose committing process could not get a publish confirmed, deliveries
//! rescued or redelivered. The rows stay locked until the broker confirmed, so
//! two schedulers never publish the same delivery.

use electrons_domain::{
    db::webhook_deliveries,
    queue::{DeliveryMessage, Publisher},
};
use futures::future::join_all;
use sqlx::PgPool;

pub async fn run(pool: &PgPool, publisher: &Publisher, batch: i64) {
    loop {
        match relay_batch(pool, publisher, batch).await {
            Ok(published) if published as i64 >= batch => continue,
            Ok(_) => return,
            Err(error) => {
                tracing::error!(%error, "webhook relay failed");
                return;
            }
        }
    }
}

async fn relay_batch(pool: &PgPool, publisher: &Publisher, batch: i64) -> Result<usize, sqlx::Error> {
    if !publisher.is_connected().await {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    let due = webhook_deliveries::lock_due_for_publish(&mut tx, batch).await?;
    if due.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    let results = join_all(due.iter().map(|message| publisher.publish_delivery(message))).await;
    let published: Vec<DeliveryMessage> = due
        .iter()
        .zip(&results)
        .filter(|(_, result)| result.is_ok())
        .map(|(message, _)| message.clone())
        .collect();
    if let Some(Err(error)) = results.iter().find(|r| r.is_err()) {
        tracing::warn!(%error, failed = due.len() - published.len(), "some webhook publishes were not confirmed; retrying next tick");
    }
    webhook_deliveries::clear_publish(&mut tx, &published).await?;
    tx.commit().await?;
    if !published.is_empty() {
        tracing::debug!(deliveries = published.len(), "relayed webhook deliveries to the broker");
    }
    Ok(published.len())
}
