//! What a claimed job needs before anything is called: its model, provider and
//! input, checked against today's catalog, and the lease that covers a call.
//! Shared by a job's first run (`runner`) and its polls (`polling`).

use std::time::Duration;

use electrons_domain::{
    catalog::{Catalog, ModelConfig, ProviderConfig},
    input::JobInput,
    job::Job,
    limiter::Scope,
    prompt_template::PromptTemplate,
    queue::Disposition,
};

use crate::{outcome::fail_unrunnable, WorkerContext};

/// What a claimed job runs with, once its model, provider and input check out.
pub(crate) struct Runnable<'a> {
    pub model: &'a ModelConfig,
    pub provider: &'a ProviderConfig,
    /// The job's input as the provider is asked (its model's prompt template applied).
    pub input: JobInput,
    /// What the prompt template supplied, for the call's record.
    pub prompt_template: Option<PromptTemplate>,
    pub scope: Scope,
    /// The model's clip length when the job names none (what a video call bills).
    pub default_video_seconds: u32,
}

/// The job's model, provider and input, or the job failed for good (a model
/// removed since submit, an input the model no longer takes). `answered`: the
/// provider already took the job (an operation being polled), so its input is
/// read as it was accepted, not refused after the fact by today's rules.
pub(crate) async fn runnable<'a>(
    context: &WorkerContext,
    catalog: &'a Catalog,
    job: &Job,
    answered: bool,
) -> Result<Runnable<'a>, Disposition> {
    let Some(model) = catalog.models.get(&job.model) else {
        return Err(fail_unrunnable(context, job, "model_unavailable", "the model is no longer configured").await);
    };
    // The instance's own key if the project's instance has one, else the deployment's.
    let Some(provider) = catalog.provider_for(model, job.project_id) else {
        let message = "the provider is no longer configured";
        return Err(fail_unrunnable(context, job, "provider_unavailable", message).await);
    };
    let Some(rules) = catalog.input_rules(model) else {
        let message = "the model's provider model cannot be called";
        return Err(fail_unrunnable(context, job, "model_unavailable", message).await);
    };
    let read = if answered {
        JobInput::read_accepted
    } else {
        JobInput::parse
    };
    let (input, prompt_template) = match read(&rules, &job.input) {
        Ok(input) => model.prepared(input),
        Err(error) => return Err(fail_unrunnable(context, job, "invalid_input", &error.to_string()).await),
    };
    Ok(Runnable {
        default_video_seconds: catalog.default_video_seconds(model),
        scope: Scope {
            provider: provider.id.clone(),
            model: model.id.clone(),
            project: job.project_id,
        },
        model,
        provider,
        input,
        prompt_template,
    })
}

/// The longest a provider call may take; a lease shorter than that would let
/// the scheduler hand a live job to a second worker.
pub(crate) fn lease_for(catalog: &Catalog) -> Duration {
    catalog
        .providers
        .values()
        .map(|p| p.timeout)
        .max()
        .unwrap_or(Duration::from_secs(120))
}
