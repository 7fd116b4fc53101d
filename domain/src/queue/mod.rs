//! RabbitMQ: the topology every role declares, the messages jobs and webhook
//! deliveries travel as, a publisher that survives broker outages and the
//! consumer loop of the roles that take messages.

mod consumer;
mod message;
mod publisher;
mod topology;

pub use consumer::{ConsumerSpec, Disposition, Received};
pub use message::{DeliveryMessage, JobMessage};
pub use publisher::{PublishError, Publisher};
pub use topology::Topology;

pub use consumer::run as consume;

use std::time::Duration;

use lapin::{Channel, Connection, ConnectionProperties};

/// A channel or connection close the broker does not answer is given up on.
const CLOSE_REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens a connection named after the role, so `rabbitmqctl list_connections`
/// tells who is who.
pub async fn connect(url: &str, role: &str) -> lapin::Result<Connection> {
    let properties = ConnectionProperties::default().with_connection_name(format!("electrons-{role}").into());
    Connection::connect(url, properties).await
}

/// Closes the channel, then the connection. In that order because lapin closes
/// a channel by itself once its last handle drops, and a channel still open
/// when the connection starts closing fails that close, which lapin logs as
/// `ERROR Connection error … invalid channel state: Closing`. Either may be
/// gone already (the broker left): nothing to close then.
pub(crate) async fn disconnect(channel: Option<Channel>, connection: &Connection) {
    if let Some(channel) = channel.filter(|c| c.status().connected()) {
        let _ = tokio::time::timeout(CLOSE_REPLY_TIMEOUT, channel.close(200, "stopping".into())).await;
    }
    if connection.status().connected() {
        let _ = tokio::time::timeout(CLOSE_REPLY_TIMEOUT, connection.close(200, "stopping".into())).await;
    }
}
