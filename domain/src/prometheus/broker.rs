//! What the consuming roles see of RabbitMQ: messages in flight in this process
//! and how deep the queues it consumes are.

use metrics::{describe_gauge, gauge, Gauge};

use super::handles::Handles;

const IN_FLIGHT: &str = "de_messages_in_flight";
const QUEUE_MESSAGES: &str = "de_queue_messages";
const QUEUE_CONSUMERS: &str = "de_queue_consumers";

pub(super) const NAMES: &[&str] = &[IN_FLIGHT, QUEUE_MESSAGES, QUEUE_CONSUMERS];

pub(super) fn describe() {
    describe_gauge!(
        IN_FLIGHT,
        "Messages this process is handling now (jobs running in a worker, deliveries in a deliverer), by role."
    );
    describe_gauge!(
        QUEUE_MESSAGES,
        "Messages ready in a queue this process consumes, as the broker last said (every few seconds)."
    );
    describe_gauge!(
        QUEUE_CONSUMERS,
        "Consumers of a queue this process consumes, as the broker last said."
    );
}

/// A message started (`+1`) or finished (`-1`) in `role`.
pub fn in_flight(role: &'static str, change: f64) {
    if !super::enabled() {
        return;
    }
    IN_FLIGHT_GAUGES
        .get(&[role], || gauge!(IN_FLIGHT, "role" => role))
        .increment(change);
}

static IN_FLIGHT_GAUGES: Handles<Gauge> = Handles::new();

/// The broker's count of `queue`'s ready messages and consumers.
pub fn queue_depth(queue: &str, messages: u32, consumers: u32) {
    gauge!(QUEUE_MESSAGES, "queue" => queue.to_owned()).set(messages as f64);
    gauge!(QUEUE_CONSUMERS, "queue" => queue.to_owned()).set(consumers as f64);
}
