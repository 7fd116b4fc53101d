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

/// Runs `tests/python/{script}` with `args` under the tools' Python and
/// answers the JSON its last line printed; panics with its output if it failed.
pub async fn run_client_script(for_what: &str, script: &str, args: &[&str]) -> serde_json::Value {
    let python = test_python(for_what);
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(script);
    let run = tokio::process::Command::new(&python)
        .arg(&path)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|error| panic!("run {}: {error}", path.display()));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    stdout
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or(serde_json::Value::Null)
}
