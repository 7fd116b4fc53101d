//! `TestApp`: DE started in-process the way the binary starts it, against its own
//! database and queue names, with a simulator standing in for the providers.

use std::time::Duration;

use electrons::{bench::with_database, roles};
use electrons_domain::{
    auth,
    catalog::{CatalogHandle, Overrides},
    config::Settings,
    secret::Secret,
    Shutdown,
};
use electrons_simulator::{Simulator, SimulatorHandle};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;
use tokio::task::JoinHandle;

use crate::WorkerProcess;

pub struct Options {
    /// Run a worker inside the test process.
    pub worker: bool,
    pub scheduler: bool,
    /// AMQP URL for the producer and scheduler (a proxy, to cut them off).
    pub publisher_amqp_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            worker: true,
            scheduler: true,
            publisher_amqp_url: None,
        }
    }
}

pub struct TestApp {
    pub base_url: String,
    pub api_key: String,
    pub http: reqwest::Client,
    pub pool: PgPool,
    pub sim: SimulatorHandle,
    pub settings: Settings,
    pub catalog: CatalogHandle,
    pub shutdown: Shutdown,
    workers: Vec<(Shutdown, JoinHandle<()>)>,
    database: String,
}

static TRACING: std::sync::Once = std::sync::Once::new();

impl TestApp {
    pub async fn spawn() -> Self {
        Self::with(Options::default()).await
    }

    pub async fn with(options: Options) -> Self {
        TRACING.call_once(|| {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
                .with_test_writer()
                .try_init();
        });
        let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let database = format!("de_test_{tag}");
        let mut settings = Settings::from_env().expect("settings");
        settings.database.url = with_database(&settings.database.url, &database);
        settings.database.max_connections = 10;
        settings.broker.prefix = format!("test-{tag}");
        settings.broker.queue_expires_ms = Some(120_000);
        settings.producer.bootstrap_api_key = None;
        settings.producer.max_wait = Duration::from_secs(30);
        settings.worker.concurrency = 16;
        settings.worker.lease_margin = Duration::from_secs(2);
        settings.worker.max_token_wait = Duration::from_secs(3);
        settings.worker.shutdown_grace = Duration::from_secs(10);
        settings.scheduler.tick = Duration::from_millis(100);
        settings.scheduler.relay_grace = Duration::from_millis(1000);
        settings.jobs.retry_min_delay = Duration::from_millis(100);
        settings.jobs.retry_max_delay = Duration::from_millis(1000);

        let pool = roles::database(&settings).await.expect("database");
        let api_key = format!("test-key-{tag}");
        auth::ensure_key(&pool, "test", &Secret::new(api_key.clone()))
            .await
            .expect("api key");
        let sim = Simulator::start("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("simulator");
        // In the database, so worker processes started by the test see it too.
        sqlx::query("UPDATE providers SET base_url = $1, api_key = 'sim-key', timeout_ms = 5000")
            .bind(sim.base_url())
            .execute(&pool)
            .await
            .expect("point providers at the simulator");
        sqlx::query("UPDATE token_buckets SET capacity = 1000, refill_per_sec = 1000, tokens = 1000")
            .execute(&pool)
            .await
            .expect("open buckets");

        let shutdown = Shutdown::new();
        let catalog = roles::catalog(&pool, Overrides::default(), &shutdown)
            .await
            .expect("catalog");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        settings.producer.public_url = base_url.clone();

        let mut publisher_settings = settings.clone();
        if let Some(url) = &options.publisher_amqp_url {
            publisher_settings.broker.url = url.clone();
        }
        roles::producer(
            &publisher_settings,
            pool.clone(),
            catalog.clone(),
            Some(listener),
            shutdown.clone(),
        )
        .await
        .expect("producer");
        if options.scheduler {
            roles::scheduler(&publisher_settings, pool.clone(), shutdown.clone());
        }
        let mut app = Self {
            base_url,
            api_key,
            http: reqwest::Client::new(),
            pool,
            sim,
            settings,
            catalog,
            shutdown,
            workers: Vec::new(),
            database,
        };
        if options.worker {
            app.start_worker();
        }
        app
    }

    /// Starts another in-process worker.
    pub fn start_worker(&mut self) {
        let stop = self.shutdown.child_token();
        let handle = roles::worker(&self.settings, self.pool.clone(), self.catalog.clone(), stop.clone());
        self.workers.push((stop, handle));
    }

    /// Starts a worker as a separate OS process running `program`.
    pub fn worker_process(&self, program: &str) -> WorkerProcess {
        WorkerProcess::start(program, &self.settings, 16).expect("start worker process")
    }

    pub async fn submit(&self, body: &Value) -> (StatusCode, Value) {
        self.submit_with(body, &[]).await
    }

    pub async fn submit_with(&self, body: &Value, headers: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}/v1/jobs", self.base_url))
            .bearer_auth(&self.api_key)
            .json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("submit");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POSTs raw bytes as the body, for malformed and oversized requests.
    pub async fn submit_raw(&self, body: Vec<u8>) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/v1/jobs", self.base_url))
            .bearer_auth(&self.api_key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("submit");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base_url))
            .bearer_auth(&self.api_key)
            .send()
            .await
            .expect("get");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base_url))
            .bearer_auth(&self.api_key)
            .send()
            .await
            .expect("post");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn job(&self, id: &str) -> Value {
        let (status, job) = self.get(&format!("/v1/jobs/{id}")).await;
        assert_eq!(status, StatusCode::OK, "GET job {id}: {job}");
        job
    }

    /// Polls until the job reaches `status`; panics with the job after `timeout`.
    pub async fn wait_for(&self, id: &str, status: &str, timeout: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let job = self.job(id).await;
            if job["status"] == status {
                return job;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job did not become {status} in {timeout:?}: {job}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn job_rows(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM jobs")
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        for (_, handle) in self.workers {
            let _ = tokio::time::timeout(Duration::from_secs(10), handle).await;
        }
        self.sim.shutdown();
        self.pool.close().await;
        drop_database(&self.settings.database.url, &self.database).await;
    }
}

async fn drop_database(url: &str, name: &str) {
    if let Ok(admin) = PgPool::connect(&with_database(url, "postgres")).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&admin)
            .await;
        admin.close().await;
    }
}
