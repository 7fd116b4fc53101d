//! The provider simulator: a real HTTP server speaking each provider's wire format
//! (as strict as the real API about what it accepts), used by tests, benchmarks
//! and the offline demo instead of the real providers. Faults — latency, 429 with
//! Retry-After, 5xx, hangs, malformed bodies — are switched on globally, as a
//! script for the next requests, or per request by a directive in the prompt.

mod control;
mod faults;
mod providers;
mod server;
mod stats;

pub use faults::Fault;
pub use server::{Controls, Simulator, SimulatorHandle};
pub use stats::RecordedRequest;
