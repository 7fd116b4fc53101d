//! The ids the admin API lets an operator choose (rate limits, providers,
//! models): short, and safe in a URL path and a log line.

use crate::error::ApiError;

pub(super) fn check(id: &str) -> Result<(), ApiError> {
    let ok = (1..=128).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "id",
            "1 to 128 letters, digits, '-', '_', '.' or ':'",
        ))
    }
}
