//! RabbitMQ: the topology every role declares, the message a job travels as, and
//! a publisher that survives broker outages.

mod message;
mod publisher;
mod topology;

pub use message::JobMessage;
pub use publisher::{PublishError, Publisher};
pub use topology::Topology;

use lapin::{Connection, ConnectionProperties};

/// Opens a connection named after the role, so `rabbitmqctl list_connections`
/// tells who is who.
pub async fn connect(url: &str, role: &str) -> lapin::Result<Connection> {
    let properties = ConnectionProperties::default().with_connection_name(format!("electrons-{role}").into());
    Connection::connect(url, properties).await
}
