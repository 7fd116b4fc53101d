//! Job identifiers: UUIDv7 inside (time-ordered, so they index and paginate well),
//! `job_<32 hex>` outside.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

const PREFIX: &str = "job_";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub Uuid);

impl JobId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for JobId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", self.0.simple())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("not a job id (expected job_ followed by 32 hex digits)")]
pub struct InvalidJobId;

impl FromStr for JobId {
    type Err = InvalidJobId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s.strip_prefix(PREFIX).ok_or(InvalidJobId)?;
        if hex.len() != 32 {
            return Err(InvalidJobId);
        }
        Uuid::try_parse(hex).map(JobId).map_err(|_| InvalidJobId)
    }
}

impl Serialize for JobId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for JobId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let id = JobId::new();
        let text = id.to_string();
        assert!(text.starts_with("job_"));
        assert_eq!(text.parse::<JobId>().ok(), Some(id));
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "",
            "job_",
            "job_xyz",
            "123e4567-e89b-12d3-a456-426614174000",
            "job_123e4567-e89b-12d3-a456-426614174000",
        ] {
            assert!(bad.parse::<JobId>().is_err(), "{bad}");
        }
    }
}
