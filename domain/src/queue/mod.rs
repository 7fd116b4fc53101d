//! RabbitMQ: the topology every role declares, the messages jobs and webhook
//! deliveries travel as, a publisher that survives broker outages and the
//! consumer loop of the roles that take messages.

mod consumer;
mod message;
mod publisher;
mod topology;

pub use consumer::{ConsumerSpec, Disposition};
pub use message::{DeliveryMessage, JobMessage};
pub use publisher::{PublishError, Publisher};
pub use topology::Topology;

pub use consumer::run as consume;

use lapin::{Connection, ConnectionProperties};

/// Opens a connection named after the role, so `rabbitmqctl list_connections`
/// tells who is who.
pub async fn connect(url: &str, role: &str) -> lapin::Result<Connection> {
    let properties = ConnectionProperties::default().with_connection_name(format!("electrons-{role}").into());
    Connection::connect(url, properties).await
}
