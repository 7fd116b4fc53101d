//! Test support: `TestApp::spawn()` starts DE against real PostgreSQL and RabbitMQ
//! with its own database and queue prefix (so tests run in parallel without
//! seeing each other), and a provider simulator of its own.

mod app;
mod process;
mod proxy;
mod receiver;

pub use app::{s3_settings, Options, TestApp};
pub use process::WorkerProcess;
pub use proxy::TcpProxy;
pub use receiver::{verifies, Received, Receiver, Reply};
