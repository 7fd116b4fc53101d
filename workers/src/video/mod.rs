//! Video: both providers work long after the request returns. `submit` hands the
//! work over and returns the provider's operation id; `poll` (run by a worker
//! when the scheduler says the job is due) reports progress, the result's links
//! (copied into storage) or the provider's reason for failing.

pub mod shotstack;
pub mod veo;
