//! One delivery's journey: claim → render → sign → POST → record → ack.

use std::time::{Duration, Instant};

use chrono::Utc;
use electrons_domain::{
    db::{
        self,
        webhook_deliveries::{webhook_id_of, AttemptRecord, ClaimedDelivery, NextStep},
    },
    job_view::JobView,
    prometheus,
    queue::{DeliveryMessage, Disposition},
    trace_context,
    webhook::{sign, WebhookSecret},
};
use tracing::Instrument;

use crate::{answer::Answer, client::check_literal, WebhookContext};

/// How long a receiver that asked to slow down without saying how long is left alone.
const DEFAULT_PAUSE: Duration = Duration::from_secs(5);

pub async fn handle(context: &WebhookContext, payload: &[u8]) -> Disposition {
    let message = match DeliveryMessage::from_bytes(payload) {
        Ok(message) => message,
        Err(error) => {
            tracing::error!(%error, "unreadable delivery message; dead-lettering it");
            return Disposition::DeadLetter;
        }
    };
    let span = tracing::info_span!("webhook", job_id = %message.job_id, event = %message.event);
    deliver(context, message).instrument(span).await
}

async fn deliver(context: &WebhookContext, message: DeliveryMessage) -> Disposition {
    let delivery = match claim(context, message).await {
        Ok(delivery) => delivery,
        Err(disposition) => return disposition,
    };
    // Known only once claimed (the job's snapshot holds it): the attempt joins
    // the trace of the request that made the job.
    let span = tracing::info_span!("webhook_attempt", delivery_id = %delivery.delivery_id);
    trace_context::continue_in(&span, delivery.job.traceparent.as_deref());
    attempt(context, delivery).instrument(span).await
}

/// Takes the delivery the message names, or says what to do with a message
/// that has nothing (more) to deliver.
async fn claim(context: &WebhookContext, message: DeliveryMessage) -> Result<ClaimedDelivery, Disposition> {
    // Outlives the attempt's timeout, so a live attempt is never handed to another consumer.
    let lease = context.settings.webhooks.timeout + context.settings.worker.lease_margin;
    match context.batches.claim(message, lease).await {
        Ok(Some(delivery)) => Ok(delivery),
        Ok(None) => {
            tracing::debug!("duplicate, stale or not yet due delivery message; dropping it");
            Err(Disposition::Ack)
        }
        Err(error) => {
            tracing::error!(%error, "could not claim the delivery");
            Err(Disposition::Requeue)
        }
    }
}

/// One attempt at a claimed delivery, recorded with what comes next.
async fn attempt(context: &WebhookContext, delivery: ClaimedDelivery) -> Disposition {
    if delivery.endpoint_disabled || delivery.endpoint_paused_until.is_some() {
        let until = if delivery.endpoint_disabled {
            None
        } else {
            delivery.endpoint_paused_until
        };
        tracing::debug!(?until, "endpoint disabled or paused; setting the delivery aside");
        if let Err(error) =
            db::webhook_deliveries::set_aside(&context.pool, delivery.delivery_id, delivery.claims, until).await
        {
            tracing::error!(%error, "could not set the delivery aside; the lease will bring it back");
        }
        return Disposition::Ack;
    }

    let attempt = delivery.attempts + 1;
    let step = delivery.schedule_step + 1;
    let started_at = Utc::now();
    let started = Instant::now();
    let answer = attempt_once(context, &delivery).await;
    let latency = started.elapsed();
    let next = answer.next_step(&context.settings.webhooks.retry_schedule, step);
    prometheus::webhooks::attempted(next.outcome(), latency);
    react_as_endpoint(context, &delivery, &answer, next).await;
    match &answer.error {
        None => tracing::info!(attempt, latency_ms = latency.as_millis() as u64, "webhook delivered"),
        Some(error) => tracing::warn!(attempt, ?next, %error, "webhook attempt failed"),
    }
    let record = AttemptRecord {
        delivery_id: delivery.delivery_id,
        claims: delivery.claims,
        attempt,
        started_at,
        status_code: answer.status,
        latency,
        error: answer.error,
        response_excerpt: answer.excerpt,
        next,
    };
    match context.batches.record(record).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!("the delivery was taken over while this attempt ran"),
        // The lease runs out and the scheduler brings the delivery back.
        Err(error) => tracing::error!(%error, "could not record the attempt"),
    }
    Disposition::Ack
}

/// One signed POST of the job as it was when the event happened.
async fn attempt_once(context: &WebhookContext, delivery: &ClaimedDelivery) -> Answer {
    let url = match url::Url::parse(&delivery.delivery_url) {
        Ok(url) => url,
        Err(error) => return Answer::refused(format!("not a URL: {error}")),
    };
    if let Err(refusal) = check_literal(&context.guard, &url) {
        return Answer::refused(refusal);
    }
    let secrets = match signing_secrets(context, delivery).await {
        Ok(secrets) => secrets,
        Err(error) => return Answer::refused(format!("no signing secret: {error}")),
    };
    let view = JobView::new(delivery.job.clone(), &context.settings.producer.public_url)
        .with_links(&context.store, context.settings.storage.url_ttl)
        .await;
    // Jobs of the Replicate-compatible API are told as predictions.
    let rendered = match delivery.job.webhook_format.as_deref() {
        Some("prediction") => serde_json::to_value(&view)
            .map(|job| electrons_domain::prediction::of(&job, &context.settings.producer.public_url)),
        _ => serde_json::to_value(&view),
    };
    let body = match rendered.and_then(|body| serde_json::to_vec(&body)) {
        Ok(body) => body,
        Err(error) => return Answer::refused(format!("could not render the job: {error}")),
    };
    let signed = sign(
        &webhook_id_of(delivery.delivery_id),
        Utc::now().timestamp(),
        &body,
        &secrets,
    );
    let sent = context
        .http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &signed.id)
        .header("webhook-timestamp", signed.timestamp.to_string())
        .header("webhook-signature", &signed.signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) => Answer::from_response(response).await,
        Err(error) => Answer::from_error(&error, context.settings.webhooks.timeout),
    }
}

/// The project's secrets in force, read with the claim; a project that never
/// asked for its secret gets one now.
async fn signing_secrets(
    context: &WebhookContext,
    delivery: &ClaimedDelivery,
) -> Result<Vec<WebhookSecret>, sqlx::Error> {
    let stored = match &delivery.secrets {
        Some(secrets) if !secrets.is_empty() => secrets.clone(),
        _ => db::webhook_secrets::active(&context.pool, delivery.job.project_id)
            .await?
            .into_iter()
            .map(|s| s.secret)
            .collect(),
    };
    Ok(stored.iter().filter_map(|s| WebhookSecret::parse(s).ok()).collect())
}

/// A 410 disables the URL for the project; a receiver asking to slow down is
/// left alone for its Retry-After, for every delivery to it.
async fn react_as_endpoint(context: &WebhookContext, delivery: &ClaimedDelivery, answer: &Answer, next: NextStep) {
    let project = delivery.job.project_id;
    let url = &delivery.delivery_url;
    let result = if next == NextStep::Disabled {
        let reason = format!("answered 410 Gone at {}", Utc::now().to_rfc3339());
        db::webhook_deliveries::disable_endpoint(&context.pool, project, url, &reason).await
    } else if answer.asks_to_slow_down() {
        let pause = answer.retry_after.unwrap_or(DEFAULT_PAUSE);
        let until = Utc::now() + chrono::Duration::from_std(pause).unwrap_or_default();
        db::webhook_deliveries::pause_endpoint(&context.pool, project, url, until).await
    } else {
        Ok(())
    };
    if let Err(error) = result {
        tracing::warn!(%error, "could not record the endpoint's state");
    }
}
