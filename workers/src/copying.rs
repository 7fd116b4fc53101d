//! The step after a billed answer: its outputs into our storage (invariant 8).
//! The answer is committed with the job first (`db::answers::record`); then every
//! file is copied. A copy that may pass later waits for its next try, leaseless,
//! with a backoff (`DE_OUTPUT_COPY_ATTEMPTS` tries in all, a try that kills its
//! worker included) and is taken up again by a poll message; a worker that dies
//! copying leaves an expired lease that the scheduler turns into another try.
//! Every statement is fenced, so a copier rescued and replaced changes nothing.
//! No path here calls the generation again, except when the provider no longer
//! has an output and the model (or the job's input) asked for it to be
//! generated again — a new attempt, counted.

use std::time::{Duration, Instant};

use base64::Engine;
use chrono::Utc;
use electrons_domain::{
    answer::{Answer, FileSource},
    catalog::{ModelConfig, ProviderConfig},
    db,
    job::Job,
    queue::Disposition,
};
use serde_json::{json, Value};
use tracing::Instrument;

use crate::{
    download,
    outcome::{self, Timing},
    outputs::{self, Destination, OutputError, OutputSource, Outputs, SourceBody, Stored},
    WorkerContext,
};

/// What a copy needs beyond the answer: the provider (its key, for links that
/// want it) and whether an output it no longer has is to be generated again.
#[derive(Clone, Copy)]
pub(crate) struct CopyTarget<'a> {
    /// `None` once the provider is no longer configured: only links that need
    /// no key can be copied then.
    pub provider: Option<&'a ProviderConfig>,
    pub regenerate: bool,
}

impl<'a> CopyTarget<'a> {
    /// `model` (if it is still configured) or the job's own input may ask to generate again.
    pub fn new(provider: Option<&'a ProviderConfig>, model: Option<&ModelConfig>, job: &Job) -> Self {
        let asked = job.input.get("regenerate_if_unavailable").and_then(Value::as_bool) == Some(true);
        Self {
            provider,
            regenerate: asked || model.is_some_and(|m| m.regenerate_unavailable_outputs),
        }
    }
}

/// The provider answered with outputs: the answer is committed (with the call
/// that got it), then copied. An answer without files (a search that copies
/// none) has nothing to wait for and finishes the job at once.
pub(crate) async fn commit_and_copy(
    context: &WorkerContext,
    job: &Job,
    target: CopyTarget<'_>,
    outputs: Outputs,
    timing: Timing,
    call: Option<Value>,
) -> Disposition {
    let mut answer = outputs.answer;
    answer.provider_ms = timing.provider_time.as_millis() as u64;
    if answer.files.is_empty() {
        let stored = Stored {
            files: Vec::new(),
            took: Duration::ZERO,
        };
        return outcome::succeed_files(context, job, &stored, answer, timing, call).await;
    }
    answer.copies = 1;
    let lease = context.settings.storage.download_timeout + context.settings.worker.lease_margin;
    match db::answers::record(&context.pool, job.fence(), &answer, lease, call.as_ref()).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!("job was canceled or taken over before its answer was recorded; it is discarded");
            outcome::record_lost_call(context, job, call.as_ref()).await;
            return Disposition::Ack;
        }
        Err(error) => return outcome::committed_nothing(error),
    }
    copy(context, job, target, answer, outputs.stream, timing).await
}

/// Another try at copying a committed answer (after a failed copy, or a worker
/// that died copying); the claim that took it up counted the try.
pub(crate) async fn resume(
    context: &WorkerContext,
    job: &Job,
    target: CopyTarget<'_>,
    answer: Answer,
    claimed_at: Instant,
) -> Disposition {
    let timing = Timing {
        claimed_at,
        token_wait: Duration::ZERO,
        provider_time: Duration::from_millis(answer.provider_ms),
        store_time: None,
    };
    let max = context.settings.storage.copy_attempts;
    if answer.copies > max {
        // Only a try that never finished (its worker died) gets here: the others
        // stop at the last try below.
        let error = OutputError::Unavailable {
            host: "storage".into(),
            reason: format!(
                "copying stopped without finishing {} times (last error: {})",
                answer.copies - 1,
                answer.last_copy_error.as_deref().unwrap_or("none")
            ),
            retryable: false,
        };
        return give_up(context, job, error, max, &timing).await;
    }
    tracing::info!(
        copy = answer.copies,
        "copying the provider's outputs again from its committed answer"
    );
    copy(context, job, target, answer, None, timing).await
}

async fn copy(
    context: &WorkerContext,
    job: &Job,
    target: CopyTarget<'_>,
    answer: Answer,
    stream: Option<reqwest::Response>,
    mut timing: Timing,
) -> Disposition {
    let streamed = answer.files.iter().any(|f| f.source == FileSource::Streamed);
    let tries = answer.copies;
    let stored = match sources(&answer, target.provider, stream) {
        Ok(sources) => {
            outputs::store_all(&destination(context, job), sources)
                .instrument(tracing::info_span!("store_outputs", copy = tries))
                .await
        }
        Err(error) => Err(error),
    };
    match stored {
        Ok(stored) => {
            timing.store_time = Some(stored.took);
            outcome::succeed_files(context, job, &stored, answer, timing, None).await
        }
        Err(OutputError::Lost) => {
            tracing::warn!("job was canceled or taken over while its outputs were stored; they are discarded");
            Disposition::Ack
        }
        // What arrived as the answer itself cannot be asked for again.
        Err(error) if streamed && !error.is_gone() && error.retryable() => {
            let error = OutputError::NotKept(error.to_string());
            unavailable(context, job, target, error, tries, &timing).await
        }
        Err(error) if error.is_gone() => unavailable(context, job, target, error, tries, &timing).await,
        Err(error) if error.retryable() && tries < context.settings.storage.copy_attempts => {
            let delay = context.retry.backoff(tries as i32);
            tracing::warn!(%error, copy = tries, ?delay, "copying the outputs failed; trying again later from the committed answer");
            match db::answers::copy_later(&context.pool, job.fence(), &error.to_string(), delay).await {
                Ok(_) => Disposition::Ack,
                Err(e) => outcome::committed_nothing(e),
            }
        }
        Err(error) => give_up(context, job, error, tries, &timing).await,
    }
}

/// The copy will not work: the job fails saying why and how often it was tried.
async fn give_up(context: &WorkerContext, job: &Job, error: OutputError, tries: u32, timing: &Timing) -> Disposition {
    tracing::warn!(%error, copies = tries, "job failed: its outputs could not be copied");
    let mut job_error = error.to_job_error();
    if error.retryable() {
        job_error.message = format!("{} (tried {tries} times)", job_error.message);
    }
    job_error.retryable = false;
    let mut metrics = timing.metrics(job);
    metrics["copy_attempts"] = json!(tries);
    outcome::fail(context, job, &job_error, metrics, None).await
}

/// The provider no longer has an output: generated again if the model or the
/// input asks for it and attempts remain (a new attempt, from nothing), else
/// the job fails `output_unavailable`.
async fn unavailable(
    context: &WorkerContext,
    job: &Job,
    target: CopyTarget<'_>,
    error: OutputError,
    tries: u32,
    timing: &Timing,
) -> Disposition {
    let mut job_error = error.to_job_error();
    let delay = target
        .regenerate
        .then(|| context.retry.next_delay(job.attempts_used(), None))
        .flatten();
    if let Some(delay) = delay {
        let regenerations = job.metrics.get("regenerations").and_then(Value::as_u64).unwrap_or(0) + 1;
        tracing::warn!(%error, regenerations, ?delay, "the provider no longer has the output; generating it again, as asked");
        job_error.retryable = true;
        let metrics = json!({ "regenerations": regenerations });
        let retry = db::jobs::retry_later(&context.pool, job.fence(), &job_error, delay, &metrics, None);
        return match retry.await {
            Ok(_) => Disposition::Ack,
            Err(e) => outcome::committed_nothing(e),
        };
    }
    tracing::warn!(%error, "job failed: the provider no longer has its output");
    let mut metrics = timing.metrics(job);
    metrics["copy_attempts"] = json!(tries);
    outcome::fail(context, job, &job_error, metrics, None).await
}

/// Each file of the answer as something to store: a link (with the provider's
/// key where it needs one, and only on the provider's own origin), the inline
/// bytes, or the body still arriving.
fn sources(
    answer: &Answer,
    provider: Option<&ProviderConfig>,
    mut stream: Option<reqwest::Response>,
) -> Result<Vec<OutputSource>, OutputError> {
    let mut sources = Vec::with_capacity(answer.files.len());
    for file in &answer.files {
        let body = match &file.source {
            FileSource::Link {
                url,
                key_header,
                expires_at,
            } => {
                let host = url::Url::parse(url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .unwrap_or_else(|| "an unreadable address".into());
                if let Some(at) = expires_at.filter(|at| *at <= Utc::now()) {
                    return Err(OutputError::Expired { host, at });
                }
                let unavailable = |reason: String, retryable| OutputError::Unavailable {
                    host: host.clone(),
                    reason,
                    retryable,
                };
                let auth = match (key_header, provider) {
                    (None, _) => None,
                    (Some(_), None) => {
                        let reason = "the link needs its provider's key, and the provider is no longer configured";
                        return Err(unavailable(reason.into(), true));
                    }
                    // The provider may have moved since the answer: its key
                    // still goes nowhere but its own origin.
                    (Some(_), Some(provider)) if !download::same_origin(url, &provider.base_url) => {
                        let reason = format!(
                            "the link is not on provider {}'s own host, so its key is not sent",
                            provider.id
                        );
                        return Err(unavailable(reason, false));
                    }
                    (Some(header), Some(provider)) => match &provider.api_key {
                        Some(key) => Some((header.clone(), key.clone())),
                        None => {
                            let reason =
                                format!("the link needs provider {}'s key, and none is configured", provider.id);
                            return Err(unavailable(reason, true));
                        }
                    },
                };
                SourceBody::Url { url: url.clone(), auth }
            }
            FileSource::Inline { base64 } => match base64::engine::general_purpose::STANDARD.decode(base64) {
                Ok(bytes) => SourceBody::Bytes(bytes.into()),
                Err(e) => return Err(OutputError::NotKept(format!("inline output is not base64: {e}"))),
            },
            FileSource::Streamed => match stream.take() {
                Some(response) => SourceBody::Stream(response),
                None => {
                    return Err(OutputError::NotKept(
                        "the answer was the file itself, and it was not stored when it arrived".into(),
                    ))
                }
            },
        };
        sources.push(OutputSource {
            name: file.name.clone(),
            content_type: file.content_type.clone(),
            body,
        });
    }
    Ok(sources)
}

fn destination<'a>(context: &'a WorkerContext, job: &Job) -> Destination<'a> {
    let storage = &context.settings.storage;
    Destination {
        store: &context.store,
        http: &context.http,
        http_unredirected: &context.http_unredirected,
        pool: &context.pool,
        project: job.project_id,
        run: job.fence(),
        max_bytes: storage.max_output_bytes,
        download_timeout: storage.download_timeout,
        lease_margin: context.settings.worker.lease_margin,
    }
}

#[cfg(test)]
mod tests {
    use electrons_domain::{answer::AnswerFile, catalog::ProviderKind, secret::Secret};
    use serde_json::Map;

    use super::*;

    fn provider(key: Option<&str>) -> ProviderConfig {
        ProviderConfig {
            id: "gemini".into(),
            kind: ProviderKind::Gemini,
            base_url: "https://generativelanguage.googleapis.com".into(),
            api_key: key.map(Secret::new),
            key_source: electrons_domain::catalog::KeySource::None,
            timeout: Duration::from_secs(1),
            credential_of: None,
        }
    }

    fn answer(source: FileSource) -> Answer {
        let file = AnswerFile {
            name: "video-1.mp4".into(),
            content_type: "video/mp4".into(),
            source,
        };
        Answer::new(vec![file], Map::new(), None)
    }

    fn link(key_header: Option<&str>, expires_in: chrono::Duration) -> FileSource {
        FileSource::Link {
            url: "https://generativelanguage.googleapis.com/v1beta/files/x".into(),
            key_header: key_header.map(str::to_owned),
            expires_at: Some(Utc::now() + expires_in),
        }
    }

    #[test]
    fn a_link_past_its_expiry_is_gone_without_asking() {
        let expired = answer(link(None, chrono::Duration::seconds(-1)));
        let error = sources(&expired, Some(&provider(None)), None).err().expect("expired");
        assert!(
            error.is_gone() && matches!(error, OutputError::Expired { .. }),
            "{error}"
        );
        assert_eq!(error.to_job_error().code, "output_unavailable");
        let live = answer(link(None, chrono::Duration::minutes(5)));
        assert!(sources(&live, Some(&provider(None)), None).is_ok());
    }

    #[test]
    fn keyed_links_take_the_key_from_the_catalog_not_the_answer() {
        let keyed = answer(link(Some("x-goog-api-key"), chrono::Duration::hours(1)));
        let built = sources(&keyed, Some(&provider(Some("AIza-test-key"))), None).expect("sources");
        match &built[0].body {
            SourceBody::Url {
                auth: Some((header, key)),
                ..
            } => {
                assert_eq!((header.as_str(), key.expose()), ("x-goog-api-key", "AIza-test-key"));
            }
            _ => panic!("a keyed link"),
        }
        let stored = serde_json::to_string(&keyed).expect("json");
        assert!(!stored.contains("AIza"), "the answer never holds the key: {stored}");
        let error = sources(&keyed, Some(&provider(None)), None).err().expect("no key");
        assert!(error.retryable() && !error.is_gone(), "{error}");
        let error = sources(&keyed, None, None).err().expect("no provider");
        assert!(error.retryable() && !error.is_gone(), "{error}");
    }

    #[test]
    fn the_key_never_goes_to_another_host() {
        let elsewhere = answer(FileSource::Link {
            url: "https://cdn.example/v.mp4".into(),
            key_header: Some("x-goog-api-key".into()),
            expires_at: None,
        });
        let error = sources(&elsewhere, Some(&provider(Some("AIza-test-key"))), None)
            .err()
            .expect("not the provider's host");
        assert!(!error.retryable() && !error.to_string().contains("AIza"), "{error}");
    }

    #[test]
    fn a_streamed_answer_cannot_be_copied_again() {
        let error = sources(&answer(FileSource::Streamed), None, None)
            .err()
            .expect("nothing to copy");
        assert!(error.is_gone(), "{error}");
    }
}
