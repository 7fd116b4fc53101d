//! The broker side of every consuming role (job workers, webhook deliverers):
//! one channel, one consumer per queue, prefetch = concurrency, manual acks.
//! Reconnects when the broker goes away; on shutdown stops consuming, lets
//! in-flight messages finish (up to the grace period), then closes, which hands
//! any unacked message back to the broker.

use std::{future::Future, sync::Arc, time::Duration};

use futures::{stream::SelectAll, StreamExt};
use lapin::{
    message::Delivery,
    options::{
        BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
        BasicRejectOptions, QueueDeclareOptions,
    },
    types::{AMQPValue, FieldTable},
    Channel, Consumer,
};
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

use super::Topology;
use crate::{config::BrokerSettings, prometheus, trace_context, Shutdown};

/// Pause before handing back a message we could not record, so a database outage
/// does not spin the message between broker and worker.
const REQUEUE_DELAY: Duration = Duration::from_secs(1);

/// How often the depths of the consumed queues are read for the metrics.
const DEPTH_PROBE_EVERY: Duration = Duration::from_secs(5);

/// What the broker should do with a message once its handler returns.
#[derive(Debug, PartialEq, Eq)]
pub enum Disposition {
    /// The next state is committed, or the message was a duplicate.
    Ack,
    /// The message is unreadable: to the dead-letter queue.
    DeadLetter,
    /// We could not record anything (database down): try again later.
    Requeue,
}

/// Who consumes what.
#[derive(Clone, Debug)]
pub struct ConsumerSpec {
    /// Names the connection and the logs (`worker`, `webhooks`).
    pub role: &'static str,
    pub queues: Vec<String>,
    /// Messages in flight at once.
    pub concurrency: u16,
    /// On shutdown, how long in-flight messages may take before going back.
    pub shutdown_grace: Duration,
}

/// A message as its handler gets it: the body, and the trace it continues.
pub struct Received {
    pub body: Vec<u8>,
    /// The `traceparent` header (`crate::trace_context`), when the publisher set one.
    pub traceparent: Option<String>,
}

impl Received {
    fn of(delivery: &Delivery) -> Self {
        let traceparent = delivery
            .properties
            .headers()
            .as_ref()
            .and_then(|headers| headers.inner().get(trace_context::HEADER))
            .and_then(|value| match value {
                AMQPValue::LongString(text) => Some(text.to_string()),
                _ => None,
            });
        Self {
            body: delivery.data.clone(),
            traceparent,
        }
    }
}

/// Consumes until `shutdown`, handing each message to `handle`; acks,
/// dead-letters or requeues by what it returns.
pub async fn run<H, F>(broker: BrokerSettings, spec: ConsumerSpec, handle: H, shutdown: Shutdown)
where
    H: Fn(Received) -> F + Send + Sync + 'static,
    F: Future<Output = Disposition> + Send + 'static,
{
    let handle = Arc::new(handle);
    let mut delays = super::publisher::reconnect_delays();
    let slots = Arc::new(Semaphore::new(spec.concurrency.max(1) as usize));
    loop {
        match consume(&broker, &spec, &handle, &slots, &shutdown).await {
            Ok(()) => return,
            Err(error) => {
                let delay = delays.next().unwrap_or(Duration::from_secs(5));
                tracing::warn!(role = spec.role, %error, ?delay, "lost the broker; reconnecting");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum ConsumeError {
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    #[error("the broker ended the consumers")]
    Ended,
}

/// Returns Ok on shutdown, Err when the connection failed.
async fn consume<H, F>(
    broker: &BrokerSettings,
    spec: &ConsumerSpec,
    handle: &Arc<H>,
    slots: &Arc<Semaphore>,
    shutdown: &Shutdown,
) -> Result<(), ConsumeError>
where
    H: Fn(Received) -> F + Send + Sync + 'static,
    F: Future<Output = Disposition> + Send + 'static,
{
    let connection = super::connect(&broker.url, spec.role).await?;
    let channel = connection.create_channel().await?;
    Topology::new(broker).declare(&channel).await?;
    channel
        .basic_qos(spec.concurrency.max(1), BasicQosOptions::default())
        .await?;

    let mut consumers: SelectAll<Consumer> = SelectAll::new();
    let mut tags = Vec::new();
    for queue in &spec.queues {
        let tag = format!("{}-{}-{}", spec.role, queue, uuid::Uuid::new_v4().simple());
        let consumer = channel
            .basic_consume(
                queue.as_str().into(),
                tag.clone().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        consumers.push(consumer);
        tags.push(tag);
    }
    tracing::info!(role = spec.role, queues = ?spec.queues, concurrency = spec.concurrency, "consuming");
    let depth_probe = match prometheus::enabled() {
        true => Some(tokio::spawn(probe_depths(
            connection.create_channel().await?,
            spec.queues.clone(),
        ))),
        false => None,
    };

    let in_flight = TaskTracker::new();
    let result = loop {
        let next = tokio::select! {
            _ = shutdown.cancelled() => break Ok(()),
            next = consumers.next() => next,
        };
        let delivery = match next {
            Some(Ok(delivery)) => delivery,
            Some(Err(error)) => break Err(error.into()),
            None => break Err(ConsumeError::Ended),
        };
        let permit = tokio::select! {
            _ = shutdown.cancelled() => {
                // Not started: hand it straight back.
                let _ = delivery.nack(BasicNackOptions { requeue: true, ..Default::default() }).await;
                break Ok(());
            }
            permit = slots.clone().acquire_owned() => permit,
        };
        let Ok(permit) = permit else { break Ok(()) };
        let work = handle(Received::of(&delivery));
        let role = spec.role;
        prometheus::broker::in_flight(role, 1.0);
        in_flight.spawn(async move {
            settle(&delivery, work.await).await;
            prometheus::broker::in_flight(role, -1.0);
            drop(permit);
        });
    };
    if let Some(probe) = depth_probe {
        probe.abort();
    }

    if result.is_ok() {
        stop_consuming(&channel, &tags).await;
        in_flight.close();
        let grace = spec.shutdown_grace;
        tracing::info!(
            role = spec.role,
            in_flight = in_flight.len(),
            ?grace,
            "stopping; finishing in-flight messages"
        );
        if tokio::time::timeout(grace, in_flight.wait()).await.is_err() {
            tracing::warn!(
                role = spec.role,
                left = in_flight.len(),
                "grace period over; unfinished messages go back to the broker"
            );
        }
    }
    super::disconnect(Some(channel), &connection).await;
    result
}

/// Reads the broker's message and consumer counts of `queues` for the
/// metrics, every few seconds, on a channel of its own (a failed passive
/// declare closes its channel, which must not be the consumers').
async fn probe_depths(channel: Channel, queues: Vec<String>) {
    loop {
        for queue in &queues {
            let passive = QueueDeclareOptions {
                passive: true,
                ..Default::default()
            };
            match channel
                .queue_declare(queue.as_str().into(), passive, FieldTable::default())
                .await
            {
                Ok(declared) => {
                    prometheus::broker::queue_depth(queue, declared.message_count(), declared.consumer_count())
                }
                Err(error) => {
                    tracing::debug!(%error, queue, "could not read the queue's depth");
                    return;
                }
            }
        }
        tokio::time::sleep(DEPTH_PROBE_EVERY).await;
    }
}

async fn settle(delivery: &Delivery, disposition: Disposition) {
    let sent = match disposition {
        Disposition::Ack => delivery.ack(BasicAckOptions::default()).await,
        Disposition::DeadLetter => delivery.reject(BasicRejectOptions { requeue: false }).await,
        Disposition::Requeue => {
            tokio::time::sleep(REQUEUE_DELAY).await;
            delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                })
                .await
        }
    };
    if let Err(error) = sent {
        // The channel is gone: the broker redelivers, and the claim drops the copy.
        tracing::warn!(%error, "could not settle a message");
    }
}

async fn stop_consuming(channel: &Channel, tags: &[String]) {
    for tag in tags {
        if let Err(error) = channel
            .basic_cancel(tag.clone().into(), BasicCancelOptions::default())
            .await
        {
            tracing::warn!(%error, "could not cancel a consumer");
        }
    }
}
