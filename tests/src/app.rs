//! `TestApp`: DE started in-process the way the binary starts it, against its own
//! database and queue names, with a simulator standing in for the providers.

use std::time::Duration;

use electrons::{bench::with_database, roles};
use electrons_domain::{
    auth,
    catalog::{CatalogHandle, Overrides},
    config::{S3Settings, Settings},
    db,
    keyring::Keyring,
    secret::Secret,
    storage::ObjectStore,
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
    /// Run a webhook deliverer inside the test process.
    pub webhooks: bool,
    /// Admit loopback webhook receivers (the tests' own); off to test the SSRF guard.
    pub allow_local_webhooks: bool,
    /// Keep outputs in an S3 bucket of their own on the test S3 server
    /// (`DE_TEST_S3_ENDPOINT`) instead of a local directory.
    pub s3: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            worker: true,
            scheduler: true,
            publisher_amqp_url: None,
            webhooks: true,
            allow_local_webhooks: true,
            s3: false,
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
    /// The store every process of this app writes outputs to.
    pub store: ObjectStore,
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
        settings.producer.admin_token = Some(Secret::new(format!("admin-{tag}")));
        settings.producer.max_wait = Duration::from_secs(30);
        // Provider keys set through the API are sealed under a keyring of the test's own.
        settings.keyring = Some(Keyring::parse(&Keyring::generate_entry("test")).expect("keyring"));
        settings.worker.concurrency = 16;
        settings.worker.lease_margin = Duration::from_secs(2);
        settings.worker.max_token_wait = Duration::from_secs(1);
        settings.worker.shutdown_grace = Duration::from_secs(10);
        settings.scheduler.tick = Duration::from_millis(100);
        settings.scheduler.relay_grace = Duration::from_millis(1000);
        settings.jobs.retry_min_delay = Duration::from_millis(100);
        settings.jobs.retry_max_delay = Duration::from_millis(1000);
        settings.webhooks.concurrency = 32;
        settings.storage.s3 = options.s3.then(s3_settings);
        settings.worker.operation_poll = Duration::from_millis(200);
        settings.worker.operation_poll_max = Duration::from_millis(500);
        settings.storage.local_dir = std::env::temp_dir().join(format!("de-test-outputs-{tag}"));
        settings.webhooks.timeout = Duration::from_secs(3);
        settings.webhooks.retry_schedule = "300ms,300ms,300ms".parse().expect("schedule");
        settings.webhooks.allowed_networks = if options.allow_local_webhooks {
            electrons_domain::config::networks("127.0.0.0/8,::1/128").expect("networks")
        } else {
            Vec::new()
        };

        let pool = roles::database(&settings).await.expect("database");
        let api_key = format!("test-key-{tag}");
        auth::ensure_key(&pool, "test", &Secret::new(api_key.clone()), &auth::Scope::ALL)
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
        let providers: Vec<String> = sqlx::query_scalar("SELECT id FROM providers")
            .fetch_all(&pool)
            .await
            .expect("providers");
        for provider in providers {
            db::rate_limits::open_provider(&pool, &provider, 1000.0)
                .await
                .expect("open limits");
        }
        // Models' own first-tier limits (DALL·E's 5 a minute) would make tests wait.
        sqlx::query("DELETE FROM rate_limits WHERE model_id IS NOT NULL")
            .execute(&pool)
            .await
            .expect("lift model limits");

        let shutdown = Shutdown::new();
        let catalog = roles::catalog(&settings, &pool, Overrides::default(), &shutdown)
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
        // Local links point at this app's producer.
        let store = ObjectStore::open(&settings.storage, &base_url)
            .await
            .expect("object store");
        if options.scheduler {
            roles::scheduler(&publisher_settings, pool.clone(), store.clone(), shutdown.clone());
        }
        let mut app = Self {
            base_url,
            api_key,
            http: reqwest::Client::new(),
            pool,
            sim,
            settings,
            catalog,
            store,
            shutdown,
            workers: Vec::new(),
            database,
        };
        // Jobs submitted before the producer's publisher is connected wait for
        // the scheduler's relay, which would skew every test that times jobs.
        if options.publisher_amqp_url.is_none() {
            app.wait_for_broker(Duration::from_secs(15)).await;
        }
        if options.worker {
            app.start_worker();
        }
        if options.webhooks {
            app.start_webhooks(&app.settings.clone());
        }
        app
    }

    /// Waits until `/readyz` reports the producer connected to the broker.
    pub async fn wait_for_broker(&self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let ready: Option<Value> = match self.http.get(format!("{}/readyz", self.base_url)).send().await {
                Ok(response) => response.json().await.ok(),
                Err(_) => None,
            };
            if ready.is_some_and(|r| r["broker"] == true) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the producer did not connect to the broker in {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts another in-process worker.
    pub fn start_worker(&mut self) {
        let stop = self.shutdown.child_token();
        let handle = roles::worker(
            &self.settings,
            self.pool.clone(),
            self.catalog.clone(),
            self.store.clone(),
            stop.clone(),
        );
        self.workers.push((stop, handle));
    }

    /// Starts an in-process webhook deliverer with these settings; cancel the
    /// returned token to stop it alone.
    pub fn start_webhooks(&mut self, settings: &Settings) -> Shutdown {
        let stop = self.shutdown.child_token();
        let handle = roles::webhooks(settings, self.pool.clone(), self.store.clone(), stop.clone());
        self.workers.push((stop.clone(), handle));
        stop
    }

    /// Starts a worker as a separate OS process running `program`.
    pub fn worker_process(&self, program: &str) -> WorkerProcess {
        WorkerProcess::start(program, &self.settings, 16).expect("start worker process")
    }

    pub async fn submit(&self, body: &Value) -> (StatusCode, Value) {
        self.submit_with(body, &[]).await
    }

    /// An API key of another project, created on first use.
    pub async fn project_key(&self, name: &str) -> String {
        let key = format!("{name}-{}", self.api_key);
        auth::ensure_key(&self.pool, name, &Secret::new(key.clone()), &auth::Scope::ALL)
            .await
            .expect("api key");
        key
    }

    /// A call to the API with `key` (a project's key or a user's token).
    pub async fn call_as(
        &self,
        key: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A project made in `instance` through the admin API, and a key for it
    /// made the same way.
    pub async fn project_in(&self, name: &str, instance: &str) -> (uuid::Uuid, String) {
        let (status, project) = self
            .admin(
                reqwest::Method::POST,
                "/v1/admin/projects",
                Some(&serde_json::json!({"name": name, "instance": instance})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{project}");
        assert_eq!(project["instance"], instance);
        let id: uuid::Uuid = project["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("project id");
        let (status, key) = self
            .admin(
                reqwest::Method::POST,
                "/v1/admin/keys",
                Some(&serde_json::json!({"project_id": id})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{key}");
        (id, key["key"].as_str().expect("the key").to_string())
    }

    /// The project an API key acts for.
    pub async fn project_of(&self, key: &str) -> uuid::Uuid {
        auth::project_for_key(&self.pool, key)
            .await
            .expect("lookup")
            .expect("known key")
    }

    pub async fn submit_as(&self, key: &str, body: &Value) -> (StatusCode, Value) {
        self.submit_as_with(key, body, &[]).await
    }

    /// The operator's token (`DE_ADMIN_TOKEN`) every test app has.
    pub fn operator_token(&self) -> &str {
        self.settings
            .producer
            .admin_token
            .as_ref()
            .expect("admin token")
            .expose()
    }

    /// A call to the admin API with the operator's token.
    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(self.operator_token());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("admin call");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Sets a rate limit through the admin API, as an operator would.
    pub async fn set_rate_limit(&self, id: &str, config: &Value) -> Value {
        let (status, limit) = self
            .admin(
                reqwest::Method::PUT,
                &format!("/v1/admin/rate-limits/{id}"),
                Some(config),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "PUT rate limit {id}: {limit}");
        limit
    }

    /// Changes a model's row (`set`: SQL assignments) and reloads the catalog
    /// this app's producer and workers share, as a refresh would.
    pub async fn change_model(&self, id: &str, set: &str) {
        sqlx::query(&format!("UPDATE models SET {set} WHERE id = $1"))
            .bind(id)
            .execute(&self.pool)
            .await
            .expect("model change");
        self.catalog.reload(&self.pool).await.expect("reload");
    }

    /// Starts `count` worker processes at once.
    pub fn worker_processes(&self, program: &str, count: usize) -> Vec<WorkerProcess> {
        (0..count).map(|_| self.worker_process(program)).collect()
    }

    /// Waits until every job of the project holding `key` reaches `status`;
    /// returns them in the same order.
    pub async fn wait_for_all_as(&self, key: &str, ids: &[String], status: &str, timeout: Duration) -> Vec<Value> {
        let mut done = Vec::with_capacity(ids.len());
        let deadline = tokio::time::Instant::now() + timeout;
        for id in ids {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            done.push(self.wait_for_as(key, id, status, left).await);
        }
        done
    }

    pub async fn wait_for_all(&self, ids: &[String], status: &str, timeout: Duration) -> Vec<Value> {
        self.wait_for_all_as(&self.api_key, ids, status, timeout).await
    }

    pub async fn submit_with(&self, body: &Value, headers: &[(&str, &str)]) -> (StatusCode, Value) {
        self.submit_as_with(&self.api_key, body, headers).await
    }

    async fn submit_as_with(&self, key: &str, body: &Value, headers: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}/v1/jobs", self.base_url))
            .bearer_auth(key)
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
        self.job_as(&self.api_key, id).await
    }

    /// The job as the project holding `key` sees it.
    pub async fn job_as(&self, key: &str, id: &str) -> Value {
        let response = self
            .http
            .get(format!("{}/v1/jobs/{id}", self.base_url))
            .bearer_auth(key)
            .send()
            .await
            .expect("get job");
        let status = response.status();
        let job = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::OK, "GET job {id}: {job}");
        job
    }

    /// Polls until the job reaches `status`; panics with the job after `timeout`.
    pub async fn wait_for(&self, id: &str, status: &str, timeout: Duration) -> Value {
        self.wait_for_as(&self.api_key, id, status, timeout).await
    }

    pub async fn wait_for_as(&self, key: &str, id: &str, status: &str, timeout: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let job = self.job_as(key, id).await;
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

    /// Waits until the job is succeeded, failed or canceled; returns it.
    pub async fn wait_finished(&self, id: &str, timeout: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let job = self.job_as(&self.api_key, id).await;
            if matches!(job["status"].as_str(), Some("succeeded" | "failed" | "canceled")) {
                return job;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job did not finish in {timeout:?}: {job}"
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
        let _ = tokio::fs::remove_dir_all(&self.settings.storage.local_dir).await;
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

/// A bucket of its own on the test S3 server (`DE_TEST_S3_ENDPOINT`, default
/// `http://127.0.0.1:9000`, which `.ci/run` starts).
pub fn s3_settings() -> S3Settings {
    S3Settings {
        endpoint: Some(std::env::var("DE_TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:9000".into())),
        bucket: format!("de-test-{}", uuid::Uuid::new_v4().simple()),
        region: "us-east-1".into(),
        path_style: true,
        access_key_id: "test".into(),
        secret_access_key: Secret::new("test-secret"),
    }
}
