//! The broker side of a worker: one channel, one consumer per modality queue,
//! prefetch = concurrency, manual acks. Reconnects when the broker goes away; on
//! shutdown stops consuming, lets in-flight jobs finish (up to the grace period),
//! then closes, which hands any unacked message back to the broker.

use std::{sync::Arc, time::Duration};

use backon::{BackoffBuilder, ExponentialBuilder};
use futures::{stream::SelectAll, StreamExt};
use lapin::{
    message::Delivery,
    options::{
        BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, BasicRejectOptions,
    },
    types::FieldTable,
    Channel, Connection, Consumer,
};
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

use electrons_domain::{
    queue::{self, Topology},
    Shutdown,
};

use crate::{
    runner::{self, Disposition},
    WorkerContext,
};

/// Pause before handing back a message we could not record, so a database outage
/// does not spin the message between broker and worker.
const REQUEUE_DELAY: Duration = Duration::from_secs(1);

pub async fn run(context: Arc<WorkerContext>, shutdown: Shutdown) {
    let mut delays = reconnect_delays();
    let slots = Arc::new(Semaphore::new(context.settings.worker.concurrency.max(1) as usize));
    loop {
        match consume(&context, &slots, &shutdown).await {
            Ok(()) => return,
            Err(error) => {
                let delay = delays.next().unwrap_or(Duration::from_secs(5));
                tracing::warn!(%error, ?delay, "worker lost the broker; reconnecting");
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
async fn consume(
    context: &Arc<WorkerContext>,
    slots: &Arc<Semaphore>,
    shutdown: &Shutdown,
) -> Result<(), ConsumeError> {
    let settings = &context.settings;
    let connection = queue::connect(&settings.broker.url, "worker").await?;
    let channel = connection.create_channel().await?;
    let topology = Topology::new(&settings.broker);
    topology.declare(&channel).await?;
    channel
        .basic_qos(settings.worker.concurrency.max(1), BasicQosOptions::default())
        .await?;

    let mut consumers: SelectAll<Consumer> = SelectAll::new();
    let mut tags = Vec::new();
    for modality in &settings.worker.modalities {
        let tag = format!("worker-{}-{}", modality, uuid::Uuid::new_v4().simple());
        let consumer = channel
            .basic_consume(
                topology.queue(*modality).into(),
                tag.clone().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        consumers.push(consumer);
        tags.push(tag);
    }
    tracing::info!(modalities = ?settings.worker.modalities, concurrency = settings.worker.concurrency, "worker consuming");

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
        let context = context.clone();
        in_flight.spawn(async move {
            settle(&delivery, runner::handle(&context, &delivery.data).await).await;
            drop(permit);
        });
    };

    if result.is_ok() {
        stop_consuming(&channel, &tags).await;
        in_flight.close();
        let grace = settings.worker.shutdown_grace;
        tracing::info!(
            in_flight = in_flight.len(),
            ?grace,
            "worker stopping; finishing in-flight jobs"
        );
        if tokio::time::timeout(grace, in_flight.wait()).await.is_err() {
            tracing::warn!(
                left = in_flight.len(),
                "grace period over; unfinished jobs go back to the broker"
            );
        }
    }
    close(&channel, &connection).await;
    result
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

async fn close(channel: &Channel, connection: &Connection) {
    let _ = channel.close(200, "worker stopping".into()).await;
    let _ = connection.close(200, "worker stopping".into()).await;
}

fn reconnect_delays() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
        .build()
}
