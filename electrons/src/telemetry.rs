//! Logging and tracing set-up, in one place. `RUST_LOG` filters (default: info
//! for DE, warn for the libraries); `DE_LOG_FORMAT=json` switches to one JSON
//! object per line. With `OTEL_EXPORTER_OTLP_ENDPOINT` set (e.g.
//! `http://collector:4317`), spans are also exported over OTLP/gRPC, batched,
//! as service `OTEL_SERVICE_NAME` (default `electrons`); the W3C `traceparent`
//! then links a job's spans across processes (`electrons_domain::trace_context`).

use opentelemetry::trace::TracerProvider;
use opentelemetry_sdk::{trace::SdkTracerProvider, Resource};
use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};

const DEFAULT: &str = "info,sqlx=warn,lapin=warn,amq_protocol=warn,tower_http=warn,hyper=warn,h2=warn,tonic=warn";

/// Flushes the exported spans when the process ends; hold it until then.
#[must_use = "spans still batched are lost unless this is shut down at exit"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports what is still batched, then stops the exporter.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(error) = provider.shutdown() {
                eprintln!("could not flush the last spans: {error}");
            }
        }
    }
}

pub fn init() -> Telemetry {
    init_with(DEFAULT)
}

/// Like `init`, with another filter when `RUST_LOG` is unset. Must run inside
/// the Tokio runtime (the gRPC exporter lives on it).
pub fn init_with(default: &str) -> Telemetry {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let json = std::env::var("DE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let provider = otlp_provider();
    let otel = provider
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("electrons")));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(json.then(|| fmt::layer().with_target(false).json()))
        .with((!json).then(|| fmt::layer().with_target(false)))
        .with(otel)
        .try_init();
    Telemetry { provider }
}

/// The OTLP exporter's provider, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
fn otlp_provider() -> Option<SdkTracerProvider> {
    std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())?;
    let exporter = match opentelemetry_otlp::SpanExporter::builder().with_tonic().build() {
        Ok(exporter) => exporter,
        Err(error) => {
            eprintln!(
                "OTEL_EXPORTER_OTLP_ENDPOINT is set but the exporter cannot start ({error}); spans are not exported"
            );
            return None;
        }
    };
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "electrons".into());
    Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name(service).build())
            .build(),
    )
}
