//! The provider simulator: a real HTTP server that speaks each provider's wire
//! format — exactly as strict as the real API about what it accepts, answering
//! and failing in the provider's own shapes — used by tests, the benchmark and
//! the offline demo instead of the real providers.
//!
//! Faults (latency, 5xx, 429 with `retry-after`, hangs, malformed bodies) are
//! switched on globally, as a script for the next requests, or per request by a
//! `[[sim:…]]` directive in the prompt; see [`Controls`] and [`Fault`]. Account
//! rate limits ([`AccountLimits`]) run down token buckets that every answer
//! reports in the provider's own rate-limit headers, and can be enforced with 429s.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use electrons_simulator::{Fault, Simulator};
//!
//! let sim = Simulator::start("127.0.0.1:0".parse().expect("address")).await?;
//! sim.controls().push_script([Fault::Status { status: 500 }]);
//! // point a client at sim.base_url(): its first call fails with a 500, then all succeed
//! # Ok(()) }
//! ```

mod account;
mod control;
mod controls;
mod faults;
mod providers;
mod server;
mod stats;
mod window;

pub use account::AccountLimits;
pub use controls::Controls;
pub use faults::Fault;
pub use server::{Simulator, SimulatorHandle};
pub use stats::RecordedRequest;
