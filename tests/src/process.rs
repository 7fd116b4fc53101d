//! A worker or webhook deliverer as a real, separate OS process, for tests
//! that kill it.

use std::process::Stdio;

use electrons_domain::config::Settings;

pub struct WorkerProcess {
    child: tokio::process::Child,
}

impl WorkerProcess {
    /// `program` is the `electrons` binary (in tests: `env!("CARGO_BIN_EXE_electrons-under-test")`).
    pub fn start(program: &str, settings: &Settings, concurrency: u16) -> std::io::Result<Self> {
        let concurrency = concurrency.to_string();
        Self::spawn(
            program,
            &["worker", "--modalities", "text", "--concurrency", &concurrency],
            settings,
        )
    }

    /// `electrons webhooks`: a webhook deliverer.
    pub fn start_webhooks(program: &str, settings: &Settings) -> std::io::Result<Self> {
        Self::spawn(program, &["webhooks"], settings)
    }

    fn spawn(program: &str, args: &[&str], settings: &Settings) -> std::io::Result<Self> {
        let webhooks = &settings.webhooks;
        let schedule: Vec<String> = webhooks
            .retry_schedule
            .0
            .iter()
            .map(|d| format!("{}ms", d.as_millis()))
            .collect();
        let networks: Vec<String> = webhooks.allowed_networks.iter().map(ToString::to_string).collect();
        let child = tokio::process::Command::new(program)
            .args(args)
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
                "DE_RETRY_MIN_DELAY_MS",
                settings.jobs.retry_min_delay.as_millis().to_string(),
            )
            .env(
                "DE_RETRY_MAX_DELAY_MS",
                settings.jobs.retry_max_delay.as_millis().to_string(),
            )
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info,sqlx=warn,lapin=warn".into()),
            )
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        Ok(Self { child })
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
            std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()?;
        }
        self.child.wait().await
    }
}
