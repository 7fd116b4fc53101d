//! The rate limits as PostgreSQL holds them, read by the scheduler every few
//! seconds: each limit's live levels, leases and pause, and its fleet-wide
//! counts of grants, waits, deferrals and 429s (what every worker recorded in
//! the limit's row). Every scheduler reports the same values: take the `max`
//! across them.

use metrics::{counter, describe_counter, describe_gauge, gauge};

use crate::db::rate_limits::RateLimitState;

const LEVEL: &str = "de_rate_limit_level";
const LEASES: &str = "de_rate_limit_leases";
const PAUSED: &str = "de_rate_limit_paused";
const GRANTED: &str = "de_rate_limit_granted_total";
const WAITED: &str = "de_rate_limit_waited_total";
const DEFERRED: &str = "de_rate_limit_deferred_total";
const THROTTLED: &str = "de_rate_limit_throttled_total";

pub(super) const NAMES: &[&str] = &[LEVEL, LEASES, PAUSED, GRANTED, WAITED, DEFERRED, THROTTLED];

pub(super) fn describe() {
    describe_gauge!(
        LEVEL,
        "What a rate limit's bucket holds now (requests, tokens, input_tokens, output_tokens), refilled to the moment of reading."
    );
    describe_gauge!(LEASES, "Calls in flight under a rate limit's concurrency cap.");
    describe_gauge!(PAUSED, "1 while a rate limit is paused after a provider's 429, else 0.");
    describe_counter!(GRANTED, "Calls a rate limit granted, fleet-wide.");
    describe_counter!(WAITED, "Grants that had to wait for their turn, fleet-wide.");
    describe_counter!(DEFERRED, "Jobs a rate limit sent back to come later, fleet-wide.");
    describe_counter!(THROTTLED, "429s the provider answered under a rate limit, fleet-wide.");
}

/// One rate limit's row as it is now.
pub fn rate_limit(limit: &RateLimitState) {
    let id = || limit.id.clone();
    let config = &limit.config;
    let buckets = [
        ("requests", config.requests_per_interval.is_some(), limit.request_level),
        ("tokens", config.tokens_per_interval.is_some(), limit.token_level),
        (
            "input_tokens",
            config.input_tokens_per_interval.is_some(),
            limit.input_token_level,
        ),
        (
            "output_tokens",
            config.output_tokens_per_interval.is_some(),
            limit.output_token_level,
        ),
    ];
    for (bucket, metered, level) in buckets {
        if metered {
            gauge!(LEVEL, "limit" => id(), "bucket" => bucket).set(level);
        }
    }
    gauge!(LEASES, "limit" => id()).set(limit.active_leases as f64);
    let paused = limit.paused_until.is_some_and(|until| until > chrono::Utc::now());
    gauge!(PAUSED, "limit" => id()).set(if paused { 1.0 } else { 0.0 });
    counter!(GRANTED, "limit" => id()).absolute(limit.granted.max(0) as u64);
    counter!(WAITED, "limit" => id()).absolute(limit.waited.max(0) as u64);
    counter!(DEFERRED, "limit" => id()).absolute(limit.deferred.max(0) as u64);
    counter!(THROTTLED, "limit" => id()).absolute(limit.throttled.max(0) as u64);
}
