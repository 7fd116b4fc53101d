//! The `from`/`to` of a report: RFC 3339 times or dates (a date's start for
//! `from`, its end for `to`), `to` defaulting to now.

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::ApiError;

/// `[from, to)`. `default_from` picks the start when the query names none.
pub(super) fn parse(
    from: Option<&str>,
    to: Option<&str>,
    default_from: impl FnOnce(DateTime<Utc>) -> DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let to = match to {
        Some(to) => instant("to", to, true)?,
        None => Utc::now(),
    };
    let from = match from {
        Some(from) => instant("from", from, false)?,
        None => default_from(to),
    };
    if from >= to {
        return Err(ApiError::invalid("from", "must be before `to`"));
    }
    Ok((from, to))
}

fn instant(field: &str, value: &str, end_of_day: bool) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(at.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| ApiError::invalid(field, "an RFC 3339 time or a date (YYYY-MM-DD)"))?;
    let day = if end_of_day { day.succ_opt().unwrap_or(day) } else { day };
    Ok(day.and_time(chrono::NaiveTime::MIN).and_utc())
}
