//! Usage and cost per project, model and day (UTC), added up from the jobs'
//! `metrics.usage` and `metrics.cost_usd` (what their billed calls used and
//! cost, failed jobs' included). A job counts on the day it was submitted, the
//! day its budget month is also taken from.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// The usage units a job's metrics add up, in the order reports list them.
pub const UNITS: [&str; 6] = [
    "input_tokens",
    "output_tokens",
    "images",
    "characters",
    "video_seconds",
    "requests",
];

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct UsageRow {
    pub day: NaiveDate,
    pub project_id: Uuid,
    pub model: String,
    pub modality: String,
    pub jobs: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub billed_calls: i64,
    pub input_tokens: f64,
    pub output_tokens: f64,
    pub images: f64,
    pub characters: f64,
    pub video_seconds: f64,
    pub requests: f64,
    pub cost_usd: f64,
}

impl UsageRow {
    /// The units in [`UNITS`] order.
    pub fn units(&self) -> [f64; 6] {
        [
            self.input_tokens,
            self.output_tokens,
            self.images,
            self.characters,
            self.video_seconds,
            self.requests,
        ]
    }
}

/// Jobs submitted in `[from, to)`, of one project or (`None`) all. Job ids
/// are UUIDv7, so the time range is an id range of the project's index.
pub async fn by_day(
    pool: &PgPool,
    project: Option<Uuid>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<UsageRow>, sqlx::Error> {
    let unit = |name: &str| format!("COALESCE(sum((metrics->'usage'->>'{name}')::float8), 0) AS {name}");
    let units: Vec<String> = UNITS.iter().map(|name| unit(name)).collect();
    sqlx::query_as(&format!(
        "SELECT (created_at AT TIME ZONE 'UTC')::date AS day, project_id, model, modality,
                count(*) AS jobs,
                count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
                count(*) FILTER (WHERE status = 'failed') AS failed,
                COALESCE(sum((metrics->>'billed_calls')::int8), 0)::int8 AS billed_calls,
                {},
                COALESCE(sum((metrics->>'cost_usd')::float8), 0) AS cost_usd
         FROM jobs
         WHERE ($1::uuid IS NULL OR project_id = $1) AND id >= $2 AND id < $3
         GROUP BY 1, 2, 3, 4
         ORDER BY 1, 2, 3",
        units.join(",\n                ")
    ))
    .bind(project)
    .bind(first_id_at(from))
    .bind(first_id_at(to))
    .fetch_all(pool)
    .await
}

/// The smallest UUIDv7 of the millisecond `at`: every job submitted from
/// then on has an id at least this.
pub(super) fn first_id_at(at: DateTime<Utc>) -> Uuid {
    let millis = at.timestamp_millis().max(0) as u64;
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    Uuid::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_made_at_a_moment_sorts_between_the_bounds_around_it() {
        let now = Utc::now();
        let id = Uuid::now_v7();
        assert!(first_id_at(now - chrono::Duration::milliseconds(5)) <= id);
        assert!(id < first_id_at(now + chrono::Duration::seconds(1)));
        assert!(first_id_at(now) < first_id_at(now + chrono::Duration::milliseconds(1)));
    }
}
