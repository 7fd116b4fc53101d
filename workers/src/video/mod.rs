//! Video: both providers work long after the request returns. The call hands
//! the work over and returns the provider's operation id; each adapter's
//! `LongRunning` half (polled by a worker when the scheduler says the job is
//! due) reports progress, the result's links (copied into storage) or the
//! provider's reason for failing.

pub mod shotstack;
pub mod veo;
