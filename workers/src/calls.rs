//! The record of one generation call for the job's `metrics.calls`
//! (`electrons_domain::call_record`): what came of it, whether the provider
//! will have charged for it, and what it used. Made for every call that was
//! sent, whatever its outcome, and committed with the job's next state.

use std::time::Duration;

use electrons_domain::{call_record::CallRecord, catalog::ModelConfig, job::Job};
use serde_json::{json, Value};

use crate::{
    adapter::Produced,
    provider_call::{CallOutcome, ProviderError},
};

/// `None` when no request went out (no key configured).
pub fn record(
    job: &Job,
    model: &ModelConfig,
    result: &Result<Produced, ProviderError>,
    provider_time: Duration,
) -> Option<Value> {
    let (outcome, status, request_id, usage) = match result {
        Ok(Produced::Text(completion)) => (
            CallOutcome::Answered,
            None,
            completion.provider_request_id.clone(),
            Some(json!({
                "input_tokens": completion.input_tokens,
                "output_tokens": completion.output_tokens,
                "estimated_cost_usd": model.estimated_cost_usd(completion.input_tokens, completion.output_tokens),
            })),
        ),
        Ok(Produced::Files(outputs)) => {
            let answer = &outputs.answer;
            let mut usage = json!({ "files": answer.files.len() });
            // Speech is billed by the character.
            if let Some(characters) = answer.details.get("characters") {
                usage["characters"] = characters.clone();
            }
            (
                CallOutcome::Answered,
                None,
                answer.provider_request_id.clone(),
                Some(usage),
            )
        }
        Ok(Produced::Operation { id }) => (CallOutcome::Answered, None, Some(id.clone()), None),
        Err(error) => (
            error.outcome(),
            error.status(),
            error.request_id().map(str::to_owned),
            None,
        ),
    };
    if outcome == CallOutcome::NotSent {
        return None;
    }
    let record = CallRecord {
        attempt: job.attempt,
        at: chrono::Utc::now(),
        outcome,
        billed: outcome.billed(),
        provider_ms: provider_time.as_millis() as u64,
        status,
        request_id,
        usage,
    };
    serde_json::to_value(record).ok()
}
