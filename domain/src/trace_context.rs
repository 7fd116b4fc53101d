//! W3C trace context across RabbitMQ: the `traceparent` of the span a message
//! is published in travels as the message's AMQP header, and the span that
//! handles it continues that trace, so one job is one trace from the HTTP
//! request through the queue to the provider call. Without an OpenTelemetry
//! layer installed (no `OTEL_EXPORTER_OTLP_ENDPOINT`), spans carry no trace
//! context and nothing is added.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The AMQP header (and W3C field) that carries it.
pub const HEADER: &str = "traceparent";

/// The current span's `traceparent`, if it belongs to a sampled trace.
pub fn current() -> Option<String> {
    let context = tracing::Span::current().context();
    let mut fields = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut fields);
    fields.remove(HEADER)
}

/// Makes `span` continue the trace `traceparent` names (a malformed or absent
/// one leaves `span` the root of a trace of its own).
pub fn continue_in(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent else { return };
    let fields = HashMap::from([(HEADER.to_owned(), traceparent.to_owned())]);
    let context = TraceContextPropagator::new().extract(&fields);
    // Fails only when no OpenTelemetry layer is installed: nothing to continue then.
    let _ = span.set_parent(context);
}
