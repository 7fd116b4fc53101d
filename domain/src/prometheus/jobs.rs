//! Jobs as they enter and leave the pipeline.

use std::time::Duration;

use chrono::{DateTime, Utc};
use metrics::{counter, describe_counter, describe_histogram, histogram, Counter, Histogram, Unit};

use super::handles::Handles;
use crate::job::{JobStatus, Modality};

const SUBMITTED: &str = "de_jobs_submitted_total";
const FINISHED: &str = "de_jobs_finished_total";
const QUEUE_WAIT: &str = "de_job_queue_wait_seconds";
const RUN: &str = "de_job_run_seconds";
const END_TO_END: &str = "de_job_end_to_end_seconds";

pub(super) const NAMES: &[&str] = &[SUBMITTED, FINISHED, QUEUE_WAIT, RUN, END_TO_END];

pub(super) fn describe() {
    describe_counter!(SUBMITTED, "Jobs accepted at submit, by model and modality.");
    describe_counter!(
        FINISHED,
        "Jobs that reached a terminal status (succeeded, failed, canceled), by model."
    );
    describe_histogram!(
        QUEUE_WAIT,
        Unit::Seconds,
        "From a job being due (submitted, or its retry time) to a worker claiming it."
    );
    describe_histogram!(
        RUN,
        Unit::Seconds,
        "From a worker claiming a job to committing its outcome (token wait, provider call, storing outputs)."
    );
    describe_histogram!(END_TO_END, Unit::Seconds, "From submit to a terminal status.");
}

static SUBMITTED_COUNTS: Handles<Counter> = Handles::new();
static FINISHED_COUNTS: Handles<Counter> = Handles::new();
static END_TO_END_TIMES: Handles<Histogram> = Handles::new();
static QUEUE_WAITS: Handles<Histogram> = Handles::new();
static RUN_TIMES: Handles<Histogram> = Handles::new();

/// `count` jobs of `model` accepted (a batch counts each of its jobs).
pub fn submitted(model: &str, modality: Modality, count: u64) {
    if !super::enabled() {
        return;
    }
    let modality = modality.as_str();
    SUBMITTED_COUNTS
        .get(
            &[model, modality],
            || counter!(SUBMITTED, "model" => model.to_owned(), "modality" => modality),
        )
        .increment(count);
}

/// A job reached `status`, `created_at` being when it was submitted.
pub fn finished(model: &str, status: JobStatus, created_at: DateTime<Utc>) {
    if !super::enabled() {
        return;
    }
    let status = status.as_str();
    FINISHED_COUNTS
        .get(
            &[model, status],
            || counter!(FINISHED, "model" => model.to_owned(), "status" => status),
        )
        .increment(1);
    END_TO_END_TIMES
        .get(
            &[model, status],
            || histogram!(END_TO_END, "model" => model.to_owned(), "status" => status),
        )
        .record(seconds_since(created_at));
}

/// A worker claimed a job of `modality` that was due at `due_at`.
pub fn claimed(modality: Modality, due_at: DateTime<Utc>) {
    if !super::enabled() {
        return;
    }
    let modality = modality.as_str();
    QUEUE_WAITS
        .get(&[modality], || histogram!(QUEUE_WAIT, "modality" => modality))
        .record(seconds_since(due_at));
}

/// A run of `model` committed its outcome `took` after the claim.
pub fn ran(model: &str, took: Duration) {
    if !super::enabled() {
        return;
    }
    RUN_TIMES
        .get(&[model], || histogram!(RUN, "model" => model.to_owned()))
        .record(took.as_secs_f64());
}

fn seconds_since(at: DateTime<Utc>) -> f64 {
    (Utc::now() - at).num_microseconds().unwrap_or(0).max(0) as f64 / 1e6
}
