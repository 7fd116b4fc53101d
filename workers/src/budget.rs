//! A job's submit reserved one call's worst case from its project's budget.
//! A job that was billed before and calls again (a retried unusable answer, an
//! output generated again) reserves another worst case first, or fails
//! `budget_exceeded` without calling: no call is made that the budget has not
//! covered. Jobs never billed yet cost no query here. A structured answer
//! asked for again within the run covers each ask the same way.

use electrons_domain::{
    db::budgets::{self, Extension},
    input::JobInput,
    job::Job,
    queue::Disposition,
    usage::Usage,
};

use crate::{outcome::fail_unrunnable, runnable::Runnable, WorkerContext};

pub(crate) async fn cover_next_call(context: &WorkerContext, job: &Job, run: &Runnable<'_>) -> Result<(), Disposition> {
    let billed_before = job.metrics.get("billed_calls").and_then(|n| n.as_u64()).unwrap_or(0);
    if billed_before == 0 {
        return Ok(());
    }
    cover_another_call(context, job, run, &run.input).await
}

/// Reserves the worst case of another call asking `input`, whatever the job
/// was billed before (a structured answer asked for again within the run).
pub(crate) async fn cover_another_call(
    context: &WorkerContext,
    job: &Job,
    run: &Runnable<'_>,
    input: &JobInput,
) -> Result<(), Disposition> {
    let worst_case = Usage::worst_case(run.model, input, run.default_video_seconds);
    let usd = run.model.pricing.cost_usd(&worst_case);
    match budgets::extend(&context.pool, job.id.0, usd).await {
        Ok(Extension::NotBudgeted | Extension::Extended) => Ok(()),
        Ok(Extension::Exceeded) => {
            let message =
                format!("calling again could cost up to ${usd}, more than the project's budget has left this month");
            Err(fail_unrunnable(context, job, "budget_exceeded", &message).await)
        }
        Err(error) => {
            tracing::error!(%error, "could not reserve from the budget; the job is retried");
            Err(Disposition::Requeue)
        }
    }
}
