//! The producer's HTTP requests, by route pattern (`/v1/jobs/{id}`, never the id).

use std::time::Duration;

use metrics::{counter, describe_counter, describe_histogram, histogram, Counter, Histogram, Unit};

use super::handles::Handles;

const REQUESTS: &str = "de_http_requests_total";
const REQUEST_SECONDS: &str = "de_http_request_seconds";

pub(super) const NAMES: &[&str] = &[REQUESTS, REQUEST_SECONDS];

pub(super) fn describe() {
    describe_counter!(
        REQUESTS,
        "HTTP requests answered, by method, route pattern and status code."
    );
    describe_histogram!(
        REQUEST_SECONDS,
        Unit::Seconds,
        "How long the producer took to answer, by method and route pattern."
    );
}

static REQUEST_COUNTS: Handles<Counter> = Handles::new();
static REQUEST_TIMES: Handles<Histogram> = Handles::new();

/// A request to `route` (its pattern, or `unmatched`) answered `status` (its
/// three digits) after `took`.
pub fn answered(method: &'static str, route: &str, status: &str, took: Duration) {
    if !super::enabled() {
        return;
    }
    REQUEST_COUNTS
        .get(
            &[method, route, status],
            || counter!(REQUESTS, "method" => method, "route" => route.to_owned(), "status" => status.to_owned()),
        )
        .increment(1);
    REQUEST_TIMES
        .get(
            &[method, route],
            || histogram!(REQUEST_SECONDS, "method" => method, "route" => route.to_owned()),
        )
        .record(took.as_secs_f64());
}
