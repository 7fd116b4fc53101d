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

/// The Python with the tests' pinned tools (`deploy/python-tools.sh`, which
/// `.ci/run` runs and exports as `DE_TEST_PYTHON`); `for_what` says which
/// tool the calling test needs, in the panic that says how to get it.
pub fn test_python(for_what: &str) -> String {
    std::env::var("DE_TEST_PYTHON").unwrap_or_else(|_| {
        panic!(
            "DE_TEST_PYTHON is unset: run `export DE_TEST_PYTHON=$(bash deploy/python-tools.sh)` \
             (a Python with {for_what}) first; .ci/run does"
        )
    })
}
