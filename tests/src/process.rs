//! A DE role (worker, webhook deliverer, scheduler, producer, dev) as a real,
//! separate OS process, for tests that kill or stop it. Its stdout and stderr
//! go to a log file of its own, which tests read (`log`) and which is printed
//! when a test fails with the process still in hand.

use std::{
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};

use electrons_domain::config::Settings;

pub struct WorkerProcess {
    child: tokio::process::Child,
    log: PathBuf,
}

impl WorkerProcess {
    /// `program` is the `electrons` binary (in tests: `env!("CARGO_BIN_EXE_electrons-under-test")`).
    pub fn start(program: &str, settings: &Settings, concurrency: u16) -> std::io::Result<Self> {
        Self::start_for(program, settings, "text", concurrency)
    }

    /// A worker consuming the queues of `modalities` (`text,video`).
    pub fn start_for(program: &str, settings: &Settings, modalities: &str, concurrency: u16) -> std::io::Result<Self> {
        let concurrency = concurrency.to_string();
        Self::spawn(
            program,
            &["worker", "--modalities", modalities, "--concurrency", &concurrency],
            settings,
        )
    }

    /// `electrons webhooks`: a webhook deliverer.
    pub fn start_webhooks(program: &str, settings: &Settings) -> std::io::Result<Self> {
        Self::spawn(program, &["webhooks"], settings)
    }

    /// Any role by its command line (`["scheduler"]`, `["producer"]`, `["dev"]`).
    /// A producer (or dev) listens on a port of its own: see `http_url`.
    pub fn start_role(program: &str, settings: &Settings, args: &[&str]) -> std::io::Result<Self> {
        Self::spawn(program, args, settings)
    }

    /// Any role with more environment than the settings give (`OTEL_…`).
    pub fn start_role_with(
        program: &str,
        settings: &Settings,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> std::io::Result<Self> {
        Self::spawn_with(program, args, settings, env)
    }

    fn spawn(program: &str, args: &[&str], settings: &Settings) -> std::io::Result<Self> {
        Self::spawn_with(program, args, settings, &[])
    }

    fn spawn_with(program: &str, args: &[&str], settings: &Settings, env: &[(&str, &str)]) -> std::io::Result<Self> {
        let role = args.first().copied().unwrap_or("electrons");
        let log = std::env::temp_dir().join(format!("de-test-{role}-{}.log", uuid::Uuid::new_v4().simple()));
        let stdout = std::fs::File::create(&log)?;
        let stderr = stdout.try_clone()?;
        let child = command(program, settings)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()?;
        Ok(Self { child, log })
    }

    /// Runs a command that ends (`["admin", "create-key", …]`) with the app's
    /// settings, and returns what it printed.
    pub async fn run_to_end(program: &str, settings: &Settings, args: &[&str]) -> std::process::Output {
        command(program, settings)
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .expect("run electrons")
    }

    /// Everything the process has written so far, stdout and stderr.
    pub fn log(&self) -> String {
        std::fs::read(&self.log)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// The first line of the log containing `needle`, once written (up to `timeout`).
    pub async fn wait_for_log(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.log().lines().find(|l| l.contains(needle)) {
                return Some(line.to_string());
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The base URL of a producer (or dev) process, from its `producer listening` line.
    pub async fn http_url(&self) -> String {
        self.url_of("producer listening").await
    }

    /// The base URL of the process's metrics listener (`DE_METRICS_ADDR`), from
    /// its `serving metrics` line.
    pub async fn metrics_url(&self) -> String {
        self.url_of("serving metrics").await
    }

    async fn url_of(&self, listening: &str) -> String {
        let line = self
            .wait_for_log(listening, Duration::from_secs(30))
            .await
            .unwrap_or_else(|| panic!("no {listening:?} in the log:\n{}", self.log()));
        let addr = line
            .split_whitespace()
            .find_map(|field| field.strip_prefix("addr="))
            .unwrap_or_else(|| panic!("no addr= in {line:?}"));
        format!("http://{addr}")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGKILL: no chance to clean up, like a machine dying.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// SIGTERM, then wait for the exit status.
    pub async fn terminate(&mut self) -> std::io::Result<std::process::ExitStatus> {
        if let Some(pid) = self.child.id() {
            let pid = libc::pid_t::try_from(pid).map_err(std::io::Error::other)?;
            // SAFETY: kill(2) takes plain integers; the pid is our own child's,
            // not yet reaped (we hold its handle), so it names no other process.
            if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        self.child.wait().await
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        // A failing test shows what its processes said; a passing one stays quiet.
        if std::thread::panicking() {
            eprintln!("--- log of {} ---\n{}", self.log.display(), self.log());
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// `program` with the environment of the app's settings: the same database,
/// queues, store and timings as the test's own processes.
fn command(program: &str, settings: &Settings) -> tokio::process::Command {
    let webhooks = &settings.webhooks;
    let schedule: Vec<String> = webhooks
        .retry_schedule
        .0
        .iter()
        .map(|d| format!("{}ms", d.as_millis()))
        .collect();
    let networks: Vec<String> = webhooks.allowed_networks.iter().map(ToString::to_string).collect();
    let mut command = tokio::process::Command::new(program);
    storage_env(&mut command, settings);
    match settings.metrics.listen_addr {
        Some(addr) => command.env("DE_METRICS_ADDR", addr.to_string()),
        None => command.env_remove("DE_METRICS_ADDR"),
    };
    match &settings.keyring {
        Some(keyring) => command.env("DE_SECRET_KEYS", keyring.env_value().expose()),
        None => command.env_remove("DE_SECRET_KEYS"),
    };
    command
        .env("DE_WEBHOOK_TIMEOUT_MS", webhooks.timeout.as_millis().to_string())
        .env("DE_WEBHOOK_RETRY_SCHEDULE", schedule.join(","))
        .env("DE_WEBHOOK_ALLOWED_NETWORKS", networks.join(","))
        .env("DE_PUBLIC_URL", &settings.producer.public_url)
        .env("DE_DATABASE_URL", &settings.database.url)
        .env("DE_DATABASE_MAX_CONNECTIONS", "5")
        .env("DE_AMQP_URL", &settings.broker.url)
        .env("DE_QUEUE_PREFIX", &settings.broker.prefix)
        .env(
            "DE_QUEUE_EXPIRES_MS",
            settings.broker.queue_expires_ms.unwrap_or(60_000).to_string(),
        )
        .env(
            "DE_LEASE_MARGIN_SECS",
            settings.worker.lease_margin.as_secs().to_string(),
        )
        .env(
            "DE_MAX_TOKEN_WAIT_MS",
            settings.worker.max_token_wait.as_millis().to_string(),
        )
        .env(
            "DE_SHUTDOWN_GRACE_SECS",
            settings.worker.shutdown_grace.as_secs().to_string(),
        )
        .env(
            "DE_OPERATION_POLL_MS",
            settings.worker.operation_poll.as_millis().to_string(),
        )
        .env(
            "DE_OPERATION_POLL_MAX_MS",
            settings.worker.operation_poll_max.as_millis().to_string(),
        )
        .env(
            "DE_OPERATION_TIMEOUT_SECS",
            settings.worker.operation_timeout.as_secs().to_string(),
        )
        .env(
            "DE_RETRY_MIN_DELAY_MS",
            settings.jobs.retry_min_delay.as_millis().to_string(),
        )
        .env(
            "DE_RETRY_MAX_DELAY_MS",
            settings.jobs.retry_max_delay.as_millis().to_string(),
        )
        .env("DE_METRICS", settings.metrics.enabled.to_string())
        .env("DE_SCHEDULER_TICK_MS", settings.scheduler.tick.as_millis().to_string())
        .env(
            "DE_RELAY_GRACE_MS",
            settings.scheduler.relay_grace.as_millis().to_string(),
        )
        // Producers (and dev's simulator) on ports of their own.
        .env("DE_HTTP_ADDR", "127.0.0.1:0")
        .env("DE_SIMULATOR_ADDR", "127.0.0.1:0")
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info,sqlx=warn,lapin=warn".into()),
        )
        // The log is read by tests, not a terminal.
        .env("NO_COLOR", "1");
    command
}

/// The same object store as the test's own processes.
fn storage_env(command: &mut tokio::process::Command, settings: &Settings) {
    let storage = &settings.storage;
    command
        .env("DE_STORAGE_DIR", &storage.local_dir)
        .env("DE_OUTPUT_MAX_BYTES", storage.max_output_bytes.to_string())
        .env(
            "DE_OUTPUT_DOWNLOAD_TIMEOUT_SECS",
            storage.download_timeout.as_secs().max(1).to_string(),
        )
        .env("DE_OUTPUT_COPY_ATTEMPTS", storage.copy_attempts.to_string())
        .env(
            "DE_OUTPUT_RETENTION_SECS",
            storage.retention.map_or(0, |r| r.as_secs().max(1)).to_string(),
        );
    match &storage.s3 {
        Some(s3) => {
            command
                .env("DE_S3_BUCKET", &s3.bucket)
                .env("DE_S3_REGION", &s3.region)
                .env("DE_S3_PATH_STYLE", s3.path_style.to_string())
                .env("DE_S3_ACCESS_KEY_ID", &s3.access_key_id)
                .env("DE_S3_SECRET_ACCESS_KEY", s3.secret_access_key.expose());
            match &s3.endpoint {
                Some(endpoint) => command.env("DE_S3_ENDPOINT", endpoint),
                None => command.env_remove("DE_S3_ENDPOINT"),
            };
        }
        None => {
            command.env_remove("DE_S3_ENDPOINT").env_remove("DE_S3_BUCKET");
        }
    }
}
