//! The record of one generation call for the job's `metrics.calls`
//! (`electrons_domain::call_record`): what came of it, whether the provider
//! will have charged for it, what it used and what that cost. Made for every
//! call that was sent, whatever its outcome, and committed with the job's next
//! state.

use std::time::Duration;

use electrons_domain::{
    call_record::CallRecord,
    input::JobInput,
    job::{Job, Modality},
    prometheus,
    usage::Usage,
};
use serde_json::Value;

use crate::{
    adapter::Produced,
    provider_call::{CallOutcome, ProviderError},
    runnable::Runnable,
};

/// `None` when no request went out (no key configured). `input` is what the
/// call asked (the job's, or the job's asked again).
pub(crate) fn record(
    job: &Job,
    run: &Runnable<'_>,
    input: &JobInput,
    result: &Result<Produced, ProviderError>,
    provider_time: Duration,
) -> Option<Value> {
    let (outcome, status, request_id) = match result {
        Ok(Produced::Text(completion)) => (CallOutcome::Answered, None, completion.provider_request_id.clone()),
        Ok(Produced::Files(outputs)) => (CallOutcome::Answered, None, outputs.answer.provider_request_id.clone()),
        Ok(Produced::Operation { id }) => (CallOutcome::Answered, None, Some(id.clone())),
        Err(error) => (error.outcome(), error.status(), error.request_id().map(str::to_owned)),
    };
    if outcome == CallOutcome::NotSent {
        return None;
    }
    let billed = outcome.billed();
    let usage = billed.then(|| usage(run, input, result));
    let cost_usd = usage.as_ref().map(|usage| run.model.pricing.cost_usd(usage));
    prometheus::provider::called(&run.provider.id, &job.model, outcome, provider_time, cost_usd);
    let record = CallRecord {
        attempt: job.attempt,
        at: chrono::Utc::now(),
        outcome,
        billed,
        provider_ms: provider_time.as_millis() as u64,
        status,
        request_id,
        cost_usd,
        usage,
        prompt_template: run.prompt_template.clone(),
    };
    serde_json::to_value(record).ok()
}

/// What a billed call used: what its answer says (tokens, images returned,
/// characters spoken), else what it asked for.
fn usage(run: &Runnable<'_>, input: &JobInput, result: &Result<Produced, ProviderError>) -> Usage {
    let mut usage = Usage::requested(run.model, input, run.default_video_seconds);
    match result {
        Ok(Produced::Text(completion)) => {
            // A server that reports no usage (an OpenAI-compatible one
            // ignoring stream_options) is billed on the request's estimate
            // and about four characters a token of what it wrote.
            if completion.input_tokens + completion.output_tokens > 0 {
                usage.input_tokens = Some(completion.input_tokens);
                usage.output_tokens = Some(completion.output_tokens);
            } else {
                let written = completion.text.chars().count() as u64;
                usage.output_tokens = Some(written.div_ceil(4));
            }
        }
        Ok(Produced::Files(outputs)) => {
            let answer = &outputs.answer;
            if run.model.modality == Modality::Image {
                usage.images = Some(answer.files.len() as u32);
            }
            if let (JobInput::Speech(_), Some(characters)) =
                (input, answer.details.get("characters").and_then(Value::as_u64))
            {
                usage.characters = Some(characters);
            }
        }
        _ => {}
    }
    usage
}
