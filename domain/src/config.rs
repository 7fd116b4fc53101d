//! Every setting of every role, read once from environment variables. Each field
//! documents its variable and default; the defaults make `electrons dev` work on a
//! laptop with PostgreSQL and RabbitMQ on their standard local ports.

use std::{fmt::Display, net::SocketAddr, str::FromStr, time::Duration};

use crate::job::Modality;

#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}: {message}")]
pub struct ConfigError {
    pub name: String,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub broker: BrokerSettings,
    pub producer: ProducerSettings,
    pub worker: WorkerSettings,
    pub scheduler: SchedulerSettings,
    pub jobs: JobSettings,
    pub webhooks: WebhookSettings,
    pub storage: StorageSettings,
    /// `DE_SECRET_KEYS`, unset by default: `id:base64-32-bytes,…`, the keyring
    /// provider keys are sealed with at rest (the first seals; the rest still
    /// open what they sealed). Without it provider keys cannot be set through
    /// the API, and come from `DE_PROVIDER_<ID>_API_KEY` only.
    pub keyring: Option<crate::keyring::Keyring>,
    pub metrics: MetricsSettings,
}

#[derive(Clone, Debug)]
pub struct MetricsSettings {
    /// `DE_METRICS`, default true: record Prometheus metrics (`crate::metrics`).
    /// Off, nothing is recorded and `/metrics` answers 404.
    pub enabled: bool,
    /// `DE_METRICS_ADDR`, unset by default: where a worker, webhook deliverer or
    /// scheduler process serves `GET /metrics` (e.g. `0.0.0.0:9464`). The
    /// producer serves it on `DE_HTTP_ADDR` whatever this says; `electrons dev`
    /// runs every role in one process, so its producer's `/metrics` has them all.
    pub listen_addr: Option<SocketAddr>,
}

#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    /// `DE_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/electrons`.
    /// The database is created if missing.
    pub url: String,
    /// `DE_DATABASE_MAX_CONNECTIONS`, default 20 per process.
    pub max_connections: u32,
}

#[derive(Clone, Debug)]
pub struct BrokerSettings {
    /// `DE_AMQP_URL`, default `amqp://guest:guest@127.0.0.1:5672/%2f`.
    pub url: String,
    /// `DE_QUEUE_PREFIX`, default `de`: names the exchange (`de.jobs`), the queues
    /// (`de.jobs.text`, …) and the dead letters (`de.dead`). Deployments sharing a
    /// vhost, and tests running in parallel, use different prefixes.
    pub prefix: String,
    /// `DE_QUEUE_EXPIRES_MS`, unset by default: when set, idle queues are deleted
    /// by the broker after that long (for throw-away test topologies).
    pub queue_expires_ms: Option<u32>,
}

#[derive(Clone, Debug)]
pub struct ProducerSettings {
    /// `DE_HTTP_ADDR`, default `127.0.0.1:8080`.
    pub http_addr: SocketAddr,
    /// `DE_PUBLIC_URL`, default `http://<DE_HTTP_ADDR>`: base of the `urls` in job objects.
    pub public_url: String,
    /// `DE_BODY_LIMIT_BYTES`, default 1 MiB.
    pub body_limit_bytes: usize,
    /// `DE_MAX_WAIT_SECS`, default 60: the longest `Prefer: wait=N` honoured.
    pub max_wait: Duration,
    /// `DE_BOOTSTRAP_API_KEY`, unset by default: an API key for a `default` project,
    /// created at start-up if missing. `electrons dev` uses `de_dev_key` when unset.
    pub bootstrap_api_key: Option<crate::secret::Secret>,
    /// `DE_ADMIN_TOKEN`, unset by default: the bearer token of the admin API
    /// (`/v1/admin/...`); while unset, the admin API answers 403.
    pub admin_token: Option<crate::secret::Secret>,
}

#[derive(Clone, Debug)]
pub struct WorkerSettings {
    /// `DE_WORKER_MODALITIES`, default all: `text,image,audio,media,video`.
    pub modalities: Vec<Modality>,
    /// `DE_WORKER_CONCURRENCY`, default 256: jobs in flight per process (and the
    /// prefetch of each queue's consumer).
    pub concurrency: u16,
    /// `DE_LEASE_MARGIN_SECS`, default 30: a claimed job's lease is the provider
    /// timeout plus this (a webhook delivery's, the webhook timeout plus this),
    /// after which the scheduler may give it to another process.
    pub lease_margin: Duration,
    /// `DE_MAX_TOKEN_WAIT_MS`, default 1000: a job whose turn at its rate limits
    /// is further away than this leaves the worker with a `run_at` (to come back
    /// when its turn nears) instead of holding a worker slot, so other providers'
    /// jobs keep moving; one that waits twice this long anyway leaves too.
    pub max_token_wait: Duration,
    /// `DE_SHUTDOWN_GRACE_SECS`, default 60: on SIGTERM, how long in-flight jobs may
    /// take to finish before their messages are handed back to the broker.
    pub shutdown_grace: Duration,
    /// `DE_OPERATION_POLL_MS`, default 5000: the first wait before a long-running
    /// provider operation (a Shotstack render, a Veo generation) is polled; each
    /// further wait is half as long again, up to `DE_OPERATION_POLL_MAX_MS`
    /// (default 30000).
    pub operation_poll: Duration,
    pub operation_poll_max: Duration,
    /// `DE_OPERATION_TIMEOUT_SECS`, default 3600: an operation still unfinished this
    /// long after it was submitted fails the job (`operation_timeout`).
    pub operation_timeout: Duration,
}

#[derive(Clone, Debug)]
pub struct SchedulerSettings {
    /// `DE_SCHEDULER_TICK_MS`, default 500: how often due work is looked for.
    pub tick: Duration,
    /// `DE_RELAY_GRACE_MS`, default 5000: how long after commit a job whose publish
    /// was never confirmed waits before the scheduler publishes it.
    pub relay_grace: Duration,
    /// `DE_SCHEDULER_BATCH`, default 500: rows handled per tick and task.
    pub batch: i64,
}

#[derive(Clone, Debug)]
pub struct JobSettings {
    /// `DE_MAX_ATTEMPTS`, default 5: provider calls per job before it fails.
    pub max_attempts: i32,
    /// `DE_RETRY_MIN_DELAY_MS`, default 1000: first retry backoff (before jitter).
    pub retry_min_delay: Duration,
    /// `DE_RETRY_MAX_DELAY_MS`, default 300000: backoff ceiling.
    pub retry_max_delay: Duration,
    /// `DE_JSON_OUTPUT_RETRIES`, default 2: how many times a text job that
    /// wants JSON asks again, with the reason, when the answer is not what its
    /// `response_format` asks for (each ask a billed call); then it fails
    /// `invalid_json_output`.
    pub json_output_retries: u32,
    /// `DE_FALLBACK_AFTER_MS`, default 30000: a job with fallbacks moves to the
    /// next when its provider would keep it waiting longer than this (a 429's
    /// Retry-After, or the fleet's limits having no room for as long).
    pub fallback_after: Duration,
}

#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// `DE_WEBHOOK_CONCURRENCY`, default 256: deliveries in flight per webhook
    /// process (and the prefetch of its queue consumer).
    pub concurrency: u16,
    /// `DE_WEBHOOK_TIMEOUT_MS`, default 15000: how long one attempt may take,
    /// connecting included.
    pub timeout: Duration,
    /// `DE_WEBHOOK_RETRY_SCHEDULE`, default `5s,5m,30m,2h,5h,10h,14h,20h,24h`
    /// (the Standard Webhooks example, about three days): the waits before the
    /// second, third, … attempt; the first is immediate. Each wait gets ±20 %
    /// jitter. When the list runs out the delivery is `exhausted`.
    pub retry_schedule: RetrySchedule,
    /// `DE_WEBHOOK_ALLOWED_NETWORKS`, empty by default: CIDRs (e.g.
    /// `10.0.0.0/8,127.0.0.1/32`) admitted although private, loopback or
    /// link-local. Everything outside public unicast is refused otherwise.
    pub allowed_networks: Vec<ipnet::IpNet>,
}

/// Where binary outputs go: an S3-compatible bucket when `DE_S3_BUCKET` or
/// `DE_S3_ENDPOINT` is set, otherwise a local directory.
#[derive(Clone, Debug)]
pub struct StorageSettings {
    pub s3: Option<S3Settings>,
    /// `DE_STORAGE_DIR`, default `data/outputs`: the local store's directory.
    pub local_dir: std::path::PathBuf,
    /// `DE_OUTPUT_URL_TTL_SECS`, default 3600: how long an output link works
    /// (S3 presigned URLs are capped at 7 days).
    pub url_ttl: Duration,
    /// `DE_OUTPUT_MAX_BYTES`, default 512 MiB: a provider output larger than
    /// this fails the job instead of filling the store.
    pub max_output_bytes: u64,
    /// `DE_OUTPUT_RETENTION_SECS`, default 2592000 (30 days): how long a job's
    /// files are kept; the scheduler then deletes them and marks them deleted in
    /// the job. 0 keeps them forever.
    pub retention: Option<Duration>,
    /// `DE_OUTPUT_DOWNLOAD_TIMEOUT_SECS`, default 300: the longest copying one
    /// provider output (a URL the provider returned) into storage may take.
    pub download_timeout: Duration,
    /// `DE_OUTPUT_COPY_ATTEMPTS`, default 5: tries at copying a committed
    /// answer's outputs (backoff with jitter between them) before the job fails
    /// `output_download_failed`; the generation is never called again for it.
    pub copy_attempts: u32,
}

#[derive(Clone, Debug)]
pub struct S3Settings {
    /// `DE_S3_ENDPOINT`, unset = AWS: e.g. `http://127.0.0.1:9000` for a local server.
    pub endpoint: Option<String>,
    /// `DE_S3_BUCKET`, default `electrons-outputs`; created at start if missing.
    pub bucket: String,
    /// `DE_S3_REGION`, default `us-east-1`.
    pub region: String,
    /// `DE_S3_PATH_STYLE`, default true when an endpoint is set: `endpoint/bucket/key`
    /// rather than `bucket.endpoint/key`.
    pub path_style: bool,
    /// `DE_S3_ACCESS_KEY_ID` / `DE_S3_SECRET_ACCESS_KEY`, falling back to
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.
    pub access_key_id: String,
    pub secret_access_key: crate::secret::Secret,
}

impl StorageSettings {
    fn from_env() -> Result<Self, ConfigError> {
        let endpoint = optional::<String>("DE_S3_ENDPOINT")?;
        let bucket = optional::<String>("DE_S3_BUCKET")?;
        let s3 = if endpoint.is_some() || bucket.is_some() {
            let either = |ours: &str, aws: &str| {
                std::env::var(ours)
                    .ok()
                    .filter(|v| !v.is_empty())
                    .or_else(|| std::env::var(aws).ok().filter(|v| !v.is_empty()))
                    .ok_or_else(|| ConfigError {
                        name: ours.into(),
                        message: format!("S3 storage needs credentials: set {ours} (or {aws})"),
                    })
            };
            Some(S3Settings {
                path_style: var("DE_S3_PATH_STYLE", endpoint.is_some())?,
                endpoint,
                bucket: bucket.unwrap_or_else(|| "electrons-outputs".into()),
                region: var_string("DE_S3_REGION", "us-east-1"),
                access_key_id: either("DE_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID")?,
                secret_access_key: crate::secret::Secret::new(either(
                    "DE_S3_SECRET_ACCESS_KEY",
                    "AWS_SECRET_ACCESS_KEY",
                )?),
            })
        } else {
            None
        };
        Ok(Self {
            s3,
            local_dir: var_string("DE_STORAGE_DIR", "data/outputs").into(),
            url_ttl: Duration::from_secs(var("DE_OUTPUT_URL_TTL_SECS", 3600)?),
            max_output_bytes: var("DE_OUTPUT_MAX_BYTES", 512 * 1024 * 1024)?,
            retention: match var("DE_OUTPUT_RETENTION_SECS", 30 * 24 * 3600u64)? {
                0 => None,
                secs => Some(Duration::from_secs(secs)),
            },
            download_timeout: Duration::from_secs(var("DE_OUTPUT_DOWNLOAD_TIMEOUT_SECS", 300)?.max(1)),
            copy_attempts: var("DE_OUTPUT_COPY_ATTEMPTS", 5u32)?.max(1),
        })
    }
}

/// The waits between webhook attempts.
#[derive(Clone, Debug, PartialEq)]
pub struct RetrySchedule(pub Vec<Duration>);

impl FromStr for RetrySchedule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .map(str::trim)
            .filter(|step| !step.is_empty())
            .map(|step| humantime::parse_duration(step).map_err(|e| format!("{step:?}: {e}")))
            .collect::<Result<Vec<_>, _>>()
            .map(RetrySchedule)
    }
}

impl Default for RetrySchedule {
    fn default() -> Self {
        "5s,5m,30m,2h,5h,10h,14h,20h,24h".parse().expect("valid schedule")
    }
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let http_addr: SocketAddr = var("DE_HTTP_ADDR", "127.0.0.1:8080".parse().expect("valid"))?;
        Ok(Self {
            database: DatabaseSettings {
                url: var_string("DE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/electrons"),
                max_connections: var("DE_DATABASE_MAX_CONNECTIONS", 20)?,
            },
            broker: BrokerSettings {
                url: var_string("DE_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"),
                prefix: var_string("DE_QUEUE_PREFIX", "de"),
                queue_expires_ms: optional("DE_QUEUE_EXPIRES_MS")?,
            },
            producer: ProducerSettings {
                http_addr,
                public_url: var_string("DE_PUBLIC_URL", &format!("http://{http_addr}")),
                body_limit_bytes: var("DE_BODY_LIMIT_BYTES", 1024 * 1024)?,
                max_wait: Duration::from_secs(var("DE_MAX_WAIT_SECS", 60)?),
                bootstrap_api_key: std::env::var("DE_BOOTSTRAP_API_KEY")
                    .ok()
                    .filter(|k| !k.is_empty())
                    .map(crate::secret::Secret::new),
                admin_token: std::env::var("DE_ADMIN_TOKEN")
                    .ok()
                    .filter(|k| !k.is_empty())
                    .map(crate::secret::Secret::new),
            },
            worker: WorkerSettings {
                modalities: modalities(&var_string("DE_WORKER_MODALITIES", "text,image,audio,media,video")).map_err(
                    |message| ConfigError {
                        name: "DE_WORKER_MODALITIES".into(),
                        message,
                    },
                )?,
                concurrency: var("DE_WORKER_CONCURRENCY", 256)?,
                lease_margin: Duration::from_secs(var("DE_LEASE_MARGIN_SECS", 30)?),
                max_token_wait: Duration::from_millis(var("DE_MAX_TOKEN_WAIT_MS", 1000)?),
                shutdown_grace: Duration::from_secs(var("DE_SHUTDOWN_GRACE_SECS", 60)?),
                operation_poll: Duration::from_millis(var("DE_OPERATION_POLL_MS", 5000)?.max(10)),
                operation_poll_max: Duration::from_millis(var("DE_OPERATION_POLL_MAX_MS", 30000)?.max(10)),
                operation_timeout: Duration::from_secs(var("DE_OPERATION_TIMEOUT_SECS", 3600)?.max(1)),
            },
            scheduler: SchedulerSettings {
                tick: Duration::from_millis(var("DE_SCHEDULER_TICK_MS", 500)?),
                relay_grace: Duration::from_millis(var("DE_RELAY_GRACE_MS", 5000)?),
                batch: var("DE_SCHEDULER_BATCH", 500)?,
            },
            jobs: JobSettings {
                max_attempts: var("DE_MAX_ATTEMPTS", 5)?,
                retry_min_delay: Duration::from_millis(var("DE_RETRY_MIN_DELAY_MS", 1000)?),
                retry_max_delay: Duration::from_millis(var("DE_RETRY_MAX_DELAY_MS", 300_000)?),
                json_output_retries: var("DE_JSON_OUTPUT_RETRIES", 2)?,
                fallback_after: Duration::from_millis(var("DE_FALLBACK_AFTER_MS", 30_000)?),
            },
            webhooks: WebhookSettings {
                concurrency: var("DE_WEBHOOK_CONCURRENCY", 256)?,
                timeout: Duration::from_millis(var("DE_WEBHOOK_TIMEOUT_MS", 15_000)?),
                retry_schedule: var("DE_WEBHOOK_RETRY_SCHEDULE", RetrySchedule::default())?,
                allowed_networks: networks(&var_string("DE_WEBHOOK_ALLOWED_NETWORKS", "")).map_err(|message| {
                    ConfigError {
                        name: "DE_WEBHOOK_ALLOWED_NETWORKS".into(),
                        message,
                    }
                })?,
            },
            storage: StorageSettings::from_env()?,
            keyring: match std::env::var("DE_SECRET_KEYS") {
                Ok(value) if !value.trim().is_empty() => {
                    Some(crate::keyring::Keyring::parse(&value).map_err(|error| ConfigError {
                        name: "DE_SECRET_KEYS".into(),
                        message: error.to_string(),
                    })?)
                }
                _ => None,
            },
            metrics: MetricsSettings {
                enabled: var("DE_METRICS", true)?,
                listen_addr: optional("DE_METRICS_ADDR")?,
            },
        })
    }

    /// The effective configuration for the start-up log, with credentials masked.
    pub fn describe(&self) -> String {
        format!(
            "database={} broker={} prefix={} http={} modalities={} concurrency={} max_attempts={}",
            mask_url(&self.database.url),
            mask_url(&self.broker.url),
            self.broker.prefix,
            self.producer.http_addr,
            self.worker
                .modalities
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(","),
            self.worker.concurrency,
            self.jobs.max_attempts,
        )
    }
}

/// `DE_PROVIDER_<ID>_API_KEY` / `DE_PROVIDER_<ID>_BASE_URL`: per-process overrides
/// of a provider's stored credentials and endpoint.
pub fn provider_override(provider_id: &str, what: &str) -> Option<String> {
    let name = format!(
        "DE_PROVIDER_{}_{what}",
        provider_id.to_ascii_uppercase().replace('-', "_")
    );
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub fn modalities(list: &str) -> Result<Vec<Modality>, String> {
    let parsed = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<Modality>().map_err(|e| format!("{s:?} {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if parsed.is_empty() {
        return Err("name at least one modality".into());
    }
    Ok(parsed)
}

pub fn networks(list: &str) -> Result<Vec<ipnet::IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            // A bare address admits just itself.
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("{s:?} is not an address or CIDR network"))
        })
        .collect()
}

/// Hides the password part of `scheme://user:password@host/...`.
pub fn mask_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => match url[scheme_end + 3..at].split_once(':') {
            Some((user, _password)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}

fn var_string(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn var<T: FromStr>(name: &str, default: T) -> Result<T, ConfigError>
where
    T::Err: Display,
{
    Ok(optional(name)?.unwrap_or(default))
}

fn optional<T: FromStr>(name: &str) -> Result<Option<T>, ConfigError>
where
    T::Err: Display,
{
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v.parse().map(Some).map_err(|e: T::Err| ConfigError {
            name: name.into(),
            message: format!("{v:?}: {e}"),
        }),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords() {
        assert_eq!(
            mask_url("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(mask_url("postgres://127.0.0.1/x"), "postgres://127.0.0.1/x");
        assert_eq!(
            mask_url("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
    }

    #[test]
    fn parses_schedules_and_networks() {
        let schedule: RetrySchedule = "0s, 200ms,5m".parse().expect("schedule");
        assert_eq!(
            schedule.0,
            vec![Duration::ZERO, Duration::from_millis(200), Duration::from_secs(300)]
        );
        assert!("5 parsecs".parse::<RetrySchedule>().is_err());
        let total: Duration = RetrySchedule::default().0.iter().sum();
        assert!(total > Duration::from_secs(3 * 24 * 3600) && total < Duration::from_secs(4 * 24 * 3600));
        assert_eq!(networks("127.0.0.0/8, ::1").map(|n| n.len()), Ok(2));
        assert!(networks("10.0.0.0/33").is_err());
    }

    #[test]
    fn parses_modalities() {
        assert_eq!(
            modalities("text, image").ok(),
            Some(vec![Modality::Text, Modality::Image])
        );
        assert!(modalities("text,smell").is_err());
        assert!(modalities("").is_err());
    }
}
