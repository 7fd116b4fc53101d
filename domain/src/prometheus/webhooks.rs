//! Webhook delivery attempts.

use std::time::Duration;

use metrics::{counter, describe_counter, describe_histogram, histogram, Counter, Histogram, Unit};

use super::handles::Handles;

const ATTEMPTS: &str = "de_webhook_attempts_total";
const ATTEMPT_SECONDS: &str = "de_webhook_attempt_seconds";

pub(super) const NAMES: &[&str] = &[ATTEMPTS, ATTEMPT_SECONDS];

pub(super) fn describe() {
    describe_counter!(
        ATTEMPTS,
        "Webhook POSTs by what came of them: delivered, retry (failed, tried again later), exhausted (failed for the last time), disabled (410 Gone)."
    );
    describe_histogram!(
        ATTEMPT_SECONDS,
        Unit::Seconds,
        "How long one webhook POST took, connecting included."
    );
}

static ATTEMPT_COUNTS: Handles<Counter> = Handles::new();
static ATTEMPT_TIMES: Handles<Histogram> = Handles::new();

/// One attempt ended with `outcome` after `took`.
pub fn attempted(outcome: &'static str, took: Duration) {
    if !super::enabled() {
        return;
    }
    ATTEMPT_COUNTS
        .get(&[outcome], || counter!(ATTEMPTS, "outcome" => outcome))
        .increment(1);
    ATTEMPT_TIMES
        .get(&[outcome], || histogram!(ATTEMPT_SECONDS, "outcome" => outcome))
        .record(took.as_secs_f64());
}
