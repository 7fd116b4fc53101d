//! Structured output (`response_format` asking for JSON) after a text call:
//! the answer is checked against what the job asked for; an answer that is
//! not JSON, or does not match the schema, is asked for again with the reason
//! (the original's `expect_json`), up to `DE_JSON_OUTPUT_RETRIES` times, each
//! ask a call under its own grant and budget check and recorded in the job's
//! `metrics.calls`. The job then succeeds with the JSON as its output, or
//! fails `invalid_json_output` with the last reason and the start of the
//! last answer.

use electrons_domain::{
    db,
    input::{JobInput, TextInput},
    job::{Job, JobError},
    queue::Disposition,
};
use serde_json::Value;

use crate::{
    adapter::{Produced, TextCompletion},
    budget, outcome,
    runnable::Runnable,
    runner::{call_failed, call_provider, settle},
    WorkerContext,
};

/// How much of the last answer the job's error keeps.
const ANSWER_EXCERPT_CHARS: usize = 500;

/// A text call that answered.
pub(crate) struct Answered {
    pub completion: TextCompletion,
    pub timing: outcome::Timing,
    pub call: Option<Value>,
}

pub(crate) async fn until_valid(
    context: &WorkerContext,
    job: &Job,
    run: &Runnable<'_>,
    input: &TextInput,
    first: Answered,
) -> Disposition {
    let Some(format) = input.json_format() else {
        let Answered {
            completion,
            timing,
            call,
        } = first;
        return outcome::succeed_text(context, job, run.model, completion, timing, call).await;
    };
    let Answered {
        mut completion,
        mut timing,
        mut call,
    } = first;
    let mut asked = input.clone();
    // The job's token counts are every call's.
    let (mut input_tokens, mut output_tokens) = (completion.input_tokens, completion.output_tokens);
    let mut asks_again = 0;
    loop {
        let why = match format.check(&completion.text) {
            Ok(json) => {
                completion.text = json;
                completion.input_tokens = input_tokens;
                completion.output_tokens = output_tokens;
                return outcome::succeed_text(context, job, run.model, completion, timing, call).await;
            }
            Err(why) => why,
        };
        if asks_again >= context.settings.jobs.json_output_retries {
            tracing::warn!(%why, calls = asks_again + 1, "the structured answer never matched; the job fails");
            let error = JobError {
                code: "invalid_json_output".into(),
                message: format!(
                    "the model's answer is not the JSON the job's response_format asks for after {} calls: {why}",
                    asks_again + 1
                ),
                provider_request_id: completion.provider_request_id.clone(),
                provider_body: Some(completion.text.chars().take(ANSWER_EXCERPT_CHARS).collect()),
                provider_status: None,
                retryable: false,
            };
            let mut metrics = timing.metrics(job);
            metrics["input_tokens"] = input_tokens.into();
            metrics["output_tokens"] = output_tokens.into();
            return outcome::fail(context, job, &error, metrics, call.as_ref()).await;
        }
        tracing::info!(%why, "the structured answer does not match; asking again with the reason");
        // This call is counted now; the next one's record goes with the job's outcome.
        if let Some(record) = call.take() {
            if let Err(error) = db::jobs::record_calls(&context.pool, &[(job.id, &record)]).await {
                tracing::warn!(%error, "could not count a structured answer's call");
            }
        }
        // Another call needs the lease a call needs, and the budget to pay for it.
        match db::jobs::extend_lease(
            &context.pool,
            job.fence(),
            context.settings.worker.lease_margin + lease(run),
        )
        .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!("job was canceled or taken over while running; not asking again");
                return Disposition::Ack;
            }
            Err(error) => return outcome::committed_nothing(error),
        }
        asked = asked.with_feedback(&completion.text, &why);
        let asking = JobInput::Text(asked.clone());
        if let Err(disposition) = budget::cover_another_call(context, job, run, &asking).await {
            return disposition;
        }
        asks_again += 1;
        let made = match call_provider(context, job, run, &asking, true).await {
            Ok(made) => made,
            Err(disposition) => return disposition,
        };
        timing.token_wait += made.token_wait;
        timing.provider_time += made.provider_time;
        call = made.record;
        match made.result {
            Ok(Produced::Text(answer)) => {
                settle(made.grant, &answer);
                input_tokens += answer.input_tokens;
                output_tokens += answer.output_tokens;
                completion = answer;
            }
            Ok(_) => {
                let error = JobError::final_error("provider_unusable_answer", "a text model answered with no text");
                return outcome::fail(context, job, &error, timing.metrics(job), call.as_ref()).await;
            }
            Err(error) => return call_failed(context, job, run, made.grant, error, timing, call).await,
        }
    }
}

/// The longest one call to the job's provider may take.
fn lease(run: &Runnable<'_>) -> std::time::Duration {
    run.provider.timeout
}
