//! Provider calls and the fleet-wide rate limits in front of them, by provider
//! (an instance's own key is a provider of its own: `openai@acme`).

use std::time::Duration;

use metrics::{counter, describe_counter, describe_histogram, histogram, Counter, Histogram, Unit};

use super::handles::Handles;
use crate::call_record::CallOutcome;

const CALLS: &str = "de_provider_calls_total";
const CALL_SECONDS: &str = "de_provider_call_seconds";
const COST: &str = "de_provider_call_cost_usd";
const GRANTS: &str = "de_rate_limit_grants_total";
const TOKEN_WAIT: &str = "de_rate_limit_wait_seconds";
const DEFERRALS: &str = "de_rate_limit_deferrals_total";
const RATE_LIMITED: &str = "de_provider_rate_limited_total";

pub(super) const NAMES: &[&str] = &[CALLS, CALL_SECONDS, COST, GRANTS, TOKEN_WAIT, DEFERRALS, RATE_LIMITED];

pub(super) fn describe() {
    describe_counter!(
        CALLS,
        "Generation calls sent to a provider, by provider, model and outcome (answered, rejected, rate_limited, server_error, timeout, …)."
    );
    describe_histogram!(
        CALL_SECONDS,
        Unit::Seconds,
        "How long a provider took to answer a generation call."
    );
    describe_histogram!(
        COST,
        "What each billed call cost under the model's pricing, in US dollars; the _sum is the spend."
    );
    describe_counter!(GRANTS, "Calls the fleet-wide rate limits let through, by provider.");
    describe_histogram!(
        TOKEN_WAIT,
        Unit::Seconds,
        "How long a granted call waited for its turn at the rate limits."
    );
    describe_counter!(
        DEFERRALS,
        "Jobs sent back to wait because their turn at the rate limits was too far away, by provider."
    );
    describe_counter!(
        RATE_LIMITED,
        "429 answers from a provider (each pauses the whole fleet's calls to it), by provider."
    );
}

static CALL_COUNTS: Handles<Counter> = Handles::new();
static CALL_TIMES: Handles<Histogram> = Handles::new();
static COSTS: Handles<Histogram> = Handles::new();
static RATE_LIMITED_COUNTS: Handles<Counter> = Handles::new();
static GRANT_COUNTS: Handles<Counter> = Handles::new();
static TOKEN_WAITS: Handles<Histogram> = Handles::new();
static DEFERRAL_COUNTS: Handles<Counter> = Handles::new();

/// One generation call went out and came to `outcome` after `took`.
pub fn called(provider: &str, model: &str, outcome: CallOutcome, took: Duration, cost_usd: Option<f64>) {
    if !super::enabled() {
        return;
    }
    let outcome_label = outcome.as_str();
    CALL_COUNTS
        .get(&[provider, model, outcome_label], || {
            counter!(CALLS, "provider" => provider.to_owned(), "model" => model.to_owned(), "outcome" => outcome_label)
        })
        .increment(1);
    CALL_TIMES
        .get(
            &[provider],
            || histogram!(CALL_SECONDS, "provider" => provider.to_owned()),
        )
        .record(took.as_secs_f64());
    if let Some(cost) = cost_usd {
        COSTS
            .get(
                &[provider, model],
                || histogram!(COST, "provider" => provider.to_owned(), "model" => model.to_owned()),
            )
            .record(cost);
    }
    if outcome == CallOutcome::RateLimited {
        RATE_LIMITED_COUNTS
            .get(
                &[provider],
                || counter!(RATE_LIMITED, "provider" => provider.to_owned()),
            )
            .increment(1);
    }
}

/// The rate limits granted a call after `waited`.
pub fn granted(provider: &str, waited: Duration) {
    if !super::enabled() {
        return;
    }
    GRANT_COUNTS
        .get(&[provider], || counter!(GRANTS, "provider" => provider.to_owned()))
        .increment(1);
    TOKEN_WAITS
        .get(
            &[provider],
            || histogram!(TOKEN_WAIT, "provider" => provider.to_owned()),
        )
        .record(waited.as_secs_f64());
}

/// A job left to come back later rather than wait at the rate limits.
pub fn deferred(provider: &str) {
    if !super::enabled() {
        return;
    }
    DEFERRAL_COUNTS
        .get(&[provider], || counter!(DEFERRALS, "provider" => provider.to_owned()))
        .increment(1);
}
