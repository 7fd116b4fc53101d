//! The producer's HTTP requests, by route pattern (`/v1/jobs/{id}`, never the id).

use std::time::Duration;

use metrics::{counter, describe_counter, describe_histogram, histogram, Unit};

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

/// A request to `route` (its pattern, or `unmatched`) answered `status` after `took`.
pub fn answered(method: &'static str, route: String, status: u16, took: Duration) {
    counter!(REQUESTS, "method" => method, "route" => route.clone(), "status" => status.to_string()).increment(1);
    histogram!(REQUEST_SECONDS, "method" => method, "route" => route).record(took.as_secs_f64());
}
