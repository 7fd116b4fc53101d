//! The ids the admin API lets an operator choose (providers, models,
//! organizations, instances, rate limits): short, and safe in a URL path and a
//! log line. `@` is kept for what DE names itself: an instance's own key for a
//! provider is the provider `<provider>@<instance>`, with rate limits named
//! the same way, which the operator may then tune.

use crate::error::ApiError;

pub(super) fn check(id: &str) -> Result<(), ApiError> {
    checked(id, false)
}

/// A rate limit's id, which may be one DE named after an instance's key.
pub(super) fn check_rate_limit(id: &str) -> Result<(), ApiError> {
    checked(id, true)
}

fn checked(id: &str, at_allowed: bool) -> Result<(), ApiError> {
    let ok = (1..=128).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':') || (at_allowed && c == '@'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "id",
            "1 to 128 letters, digits, '-', '_', '.' or ':'",
        ))
    }
}
