//! Webhook delivery attempts.

use std::time::Duration;

use metrics::{counter, describe_counter, describe_histogram, histogram, Unit};

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

/// One attempt ended with `outcome` after `took`.
pub fn attempted(outcome: &'static str, took: Duration) {
    counter!(ATTEMPTS, "outcome" => outcome).increment(1);
    histogram!(ATTEMPT_SECONDS, "outcome" => outcome).record(took.as_secs_f64());
}
