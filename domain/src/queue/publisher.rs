//! A confirmed publisher that reconnects by itself. Publishing never blocks on a
//! broker that is down: it fails fast with `NotConnected`, and the job's
//! `publish_at` makes the scheduler publish it later (invariant 1).
//!
//! It stops when its token fires or, for a role that must finish its work
//! first, on `close`: that lets the background publishes be confirmed, then
//! closes the channel and only then the connection (`disconnect`).

use std::{future::Future, sync::Arc, time::Duration};

use backon::{BackoffBuilder, ExponentialBuilder};
use lapin::{
    options::BasicPublishOptions,
    options::ConfirmSelectOptions,
    types::{AMQPValue, FieldTable},
    BasicProperties, Channel, Connection,
};
use tokio::sync::{Notify, RwLock};
use tokio_util::task::TaskTracker;

use super::{connect, disconnect, DeliveryMessage, JobMessage, Topology};
use crate::{
    job::{Modality, Priority},
    trace_context, Shutdown,
};

const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `close` waits for background publishes: each is bounded by its
/// confirmation, plus recording it.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("not connected to the broker")]
    NotConnected,
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    #[error("the broker refused the message")]
    Refused,
    #[error("no confirmation from the broker in time")]
    ConfirmTimeout,
}

#[derive(Clone)]
pub struct Publisher {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    role: String,
    topology: Topology,
    channel: RwLock<Option<Channel>>,
    broken: Notify,
    connected: Notify,
    /// Background publishes (`spawn`), which `close` lets finish.
    tasks: TaskTracker,
    /// Stops the supervisor: the token given to `start`, or `close`.
    stop: Shutdown,
    /// Fired once the supervisor has closed its channel and connection.
    stopped: Shutdown,
}

impl Publisher {
    /// Starts connecting in the background and keeps the connection up until
    /// `shutdown` fires or `close` is called.
    pub fn start(url: &str, topology: Topology, role: &str, shutdown: Shutdown) -> Self {
        let inner = Arc::new(Inner {
            url: url.to_string(),
            role: role.to_string(),
            topology,
            channel: RwLock::new(None),
            broken: Notify::new(),
            connected: Notify::new(),
            tasks: TaskTracker::new(),
            stop: shutdown.child_token(),
            stopped: Shutdown::new(),
        });
        tokio::spawn(supervise(inner.clone()));
        Self { inner }
    }

    /// Runs `task` (a publish and what follows it) in the background, where
    /// `close` waits for it.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.inner.tasks.spawn(task);
    }

    /// Lets the background publishes finish (up to `CLOSE_TIMEOUT`), then closes
    /// the channel and the connection, in that order, and returns once closed.
    /// Publishing afterwards fails with `NotConnected`.
    pub async fn close(&self) {
        let inner = &self.inner;
        inner.tasks.close();
        if tokio::time::timeout(CLOSE_TIMEOUT, inner.tasks.wait()).await.is_err() {
            tracing::warn!(role = %inner.role, left = inner.tasks.len(), "closing the publisher with publishes unconfirmed; the scheduler will relay them");
        }
        inner.stop.cancel();
        inner.stopped.cancelled().await;
    }

    pub fn topology(&self) -> &Topology {
        &self.inner.topology
    }

    pub async fn is_connected(&self) -> bool {
        self.inner
            .channel
            .read()
            .await
            .as_ref()
            .is_some_and(|c| c.status().connected())
    }

    /// Waits until connected, up to `timeout`.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.connected.notified();
            if self.is_connected().await {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.is_connected().await;
            }
        }
    }

    /// Publishes a job's message to its modality's queue and waits for the confirm.
    pub async fn publish(
        &self,
        message: &JobMessage,
        modality: Modality,
        priority: Priority,
    ) -> Result<(), PublishError> {
        let mut properties = BasicProperties::default()
            .with_priority(priority.amqp())
            .with_message_id(message.job_id.to_string().into());
        if let Some(traceparent) = &message.traceparent {
            let mut headers = FieldTable::default();
            headers.insert(
                trace_context::HEADER.into(),
                AMQPValue::LongString(traceparent.as_str().into()),
            );
            properties = properties.with_headers(headers);
        }
        let exchange = self.inner.topology.exchange();
        self.publish_confirmed(&exchange, modality.as_str(), &message.to_bytes(), properties)
            .await
    }

    /// Publishes a due webhook delivery to the webhook queue.
    pub async fn publish_delivery(&self, message: &DeliveryMessage) -> Result<(), PublishError> {
        let properties =
            BasicProperties::default().with_message_id(format!("{}.{}", message.job_id, message.event).into());
        let queue = self.inner.topology.webhook_queue();
        self.publish_confirmed("", &queue, &message.to_bytes(), properties)
            .await
    }

    /// A persistent JSON message, mandatory (a message no queue takes is an
    /// error, not a silent loss), confirmed by the broker.
    async fn publish_confirmed(
        &self,
        exchange: &str,
        routing_key: &str,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<(), PublishError> {
        let channel = self
            .inner
            .channel
            .read()
            .await
            .clone()
            .ok_or(PublishError::NotConnected)?;
        let properties = properties
            .with_delivery_mode(2)
            .with_content_type("application/json".into());
        let result = async {
            let confirm = channel
                .basic_publish(
                    exchange.into(),
                    routing_key.into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    payload,
                    properties,
                )
                .await?;
            match tokio::time::timeout(CONFIRM_TIMEOUT, confirm).await {
                Err(_) => Err(PublishError::ConfirmTimeout),
                Ok(confirmation) => {
                    let confirmation = confirmation?;
                    // A mandatory message that no queue took comes back with the ack.
                    if confirmation.is_ack() && confirmation.take_message().is_none() {
                        Ok(())
                    } else {
                        Err(PublishError::Refused)
                    }
                }
            }
        }
        .await;
        if matches!(result, Err(PublishError::Broker(_)) | Err(PublishError::ConfirmTimeout)) {
            self.inner.broken.notify_one();
        }
        result
    }
}

async fn supervise(inner: Arc<Inner>) {
    let _stopped = inner.stopped.clone().drop_guard();
    let stop = &inner.stop;
    let mut delays = reconnect_delays();
    loop {
        let opened = tokio::select! {
            _ = stop.cancelled() => return,
            opened = open(&inner) => opened,
        };
        match opened {
            Ok((connection, channel)) => {
                delays = reconnect_delays();
                *inner.channel.write().await = Some(channel);
                inner.connected.notify_waiters();
                tracing::info!(role = %inner.role, "publisher connected to the broker");
                let stopping = watch(&inner, &connection, stop).await;
                let channel = inner.channel.write().await.take();
                disconnect(channel, &connection).await;
                if stopping {
                    tracing::info!(role = %inner.role, "publisher closed");
                    return;
                }
                tracing::warn!(role = %inner.role, "publisher lost the broker; reconnecting");
            }
            Err(error) => {
                let delay = delays.next().unwrap_or(Duration::from_secs(5));
                tracing::warn!(role = %inner.role, %error, ?delay, "publisher cannot reach the broker");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

/// Returns true on stop, false when the connection broke.
async fn watch(inner: &Inner, connection: &Connection, stop: &Shutdown) -> bool {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return true,
            _ = inner.broken.notified() => return false,
            _ = tokio::time::sleep(Duration::from_millis(250)) => {
                if !connection.status().connected() {
                    return false;
                }
            }
        }
    }
}

async fn open(inner: &Inner) -> lapin::Result<(Connection, Channel)> {
    let connection = connect(&inner.url, &format!("{}-publisher", inner.role)).await?;
    let channel = connection.create_channel().await?;
    inner.topology.declare(&channel).await?;
    channel.confirm_select(ConfirmSelectOptions::default()).await?;
    Ok((connection, channel))
}

pub(crate) fn reconnect_delays() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
        .build()
}
