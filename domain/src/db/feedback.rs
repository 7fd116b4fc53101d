//! Feedback on jobs: one per job (sending again replaces it), only on a job
//! that finished, aggregated per project, model and prompt template.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// What a user says about a job's output.
pub struct NewFeedback {
    pub rating: i16,
    pub prompt_effectiveness: Option<i16>,
    pub comment: Option<String>,
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Feedback {
    pub job_id: Uuid,
    pub model: String,
    pub prompt_template: Option<String>,
    pub rating: i16,
    pub prompt_effectiveness: Option<i16>,
    pub comment: Option<String>,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why feedback was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    #[error("no such job in this project")]
    NoJob,
    #[error("the job has not finished (it is {0})")]
    NotFinished(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

const COLUMNS: &str =
    "job_id, model, prompt_template, rating, prompt_effectiveness, comment, tags, created_at, updated_at";

/// Records (or replaces) the feedback on `project`'s job; `true` when it is the first.
pub async fn put(
    pool: &PgPool,
    project: Uuid,
    job: Uuid,
    feedback: &NewFeedback,
) -> Result<(Feedback, bool), FeedbackError> {
    #[derive(sqlx::FromRow)]
    struct Saved {
        #[sqlx(flatten)]
        feedback: Feedback,
        created: bool,
    }
    let row: Option<Saved> = sqlx::query_as(&format!(
        "INSERT INTO job_feedback (job_id, project_id, model, prompt_template, rating, prompt_effectiveness,
                                   comment, tags)
         SELECT id, project_id, model, metrics->'prompt_template'->>'name', $3, $4, $5, $6 FROM jobs
         WHERE id = $1 AND project_id = $2 AND status IN ('succeeded', 'failed', 'canceled')
         ON CONFLICT (job_id) DO UPDATE SET
             rating = EXCLUDED.rating, prompt_effectiveness = EXCLUDED.prompt_effectiveness,
             comment = EXCLUDED.comment, tags = EXCLUDED.tags, updated_at = now()
         RETURNING {COLUMNS}, (xmax = 0) AS created"
    ))
    .bind(job)
    .bind(project)
    .bind(feedback.rating)
    .bind(feedback.prompt_effectiveness)
    .bind(&feedback.comment)
    .bind(&feedback.tags)
    .fetch_optional(pool)
    .await?;
    if let Some(saved) = row {
        return Ok((saved.feedback, saved.created));
    }
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM jobs WHERE id = $1 AND project_id = $2")
        .bind(job)
        .bind(project)
        .fetch_optional(pool)
        .await?;
    Err(match status {
        Some(status) => FeedbackError::NotFinished(status),
        None => FeedbackError::NoJob,
    })
}

pub async fn get(pool: &PgPool, project: Uuid, job: Uuid) -> Result<Option<Feedback>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM job_feedback WHERE job_id = $1 AND project_id = $2"
    ))
    .bind(job)
    .bind(project)
    .fetch_optional(pool)
    .await
}

/// Which feedback a summary covers.
pub struct SummaryFilter {
    /// One project's, or every project's (the operator's view).
    pub project: Option<Uuid>,
    pub model: Option<String>,
    pub prompt_template: Option<String>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// One project's feedback on one model under one prompt template.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SummaryRow {
    pub project_id: Uuid,
    pub model: String,
    /// The template's name (`metrics.prompt_template.name`); null for jobs
    /// that ran with none.
    pub prompt_template: Option<String>,
    pub count: i64,
    pub average_rating: f64,
    /// How many gave each rating, 1 to 5.
    #[schema(value_type = Vec<i64>, min_items = 5, max_items = 5)]
    pub ratings: [i64; 5],
    pub average_prompt_effectiveness: Option<f64>,
    /// The most used tags, most used first.
    pub top_tags: Vec<TagCount>,
}

#[derive(Clone, Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct TagCount {
    pub tag: String,
    pub count: i64,
}

const TOP_TAGS: i64 = 10;

pub async fn summary(pool: &PgPool, filter: &SummaryFilter) -> Result<Vec<SummaryRow>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Group {
        project_id: Uuid,
        model: String,
        prompt_template: Option<String>,
        count: i64,
        average_rating: f64,
        r1: i64,
        r2: i64,
        r3: i64,
        r4: i64,
        r5: i64,
        average_prompt_effectiveness: Option<f64>,
        top_tags: sqlx::types::Json<Vec<TagCount>>,
    }
    // One pass over the matching feedback: the groups, and each group's most used tags.
    let groups: Vec<Group> = sqlx::query_as(
        "WITH matching AS (
             SELECT * FROM job_feedback
             WHERE ($1::uuid IS NULL OR project_id = $1) AND ($2::text IS NULL OR model = $2)
               AND ($3::text IS NULL OR prompt_template = $3)
               AND updated_at >= $4 AND updated_at < $5),
         tag_counts AS (
             SELECT project_id, model, prompt_template, tag, count(*) AS count,
                    row_number() OVER (PARTITION BY project_id, model, prompt_template
                                       ORDER BY count(*) DESC, tag) AS rank
             FROM matching, unnest(tags) AS tag
             GROUP BY project_id, model, prompt_template, tag)
         SELECT project_id, model, prompt_template, count(*) AS count, avg(rating)::float8 AS average_rating,
                count(*) FILTER (WHERE rating = 1) AS r1, count(*) FILTER (WHERE rating = 2) AS r2,
                count(*) FILTER (WHERE rating = 3) AS r3, count(*) FILTER (WHERE rating = 4) AS r4,
                count(*) FILTER (WHERE rating = 5) AS r5,
                avg(prompt_effectiveness)::float8 AS average_prompt_effectiveness,
                COALESCE((SELECT jsonb_agg(jsonb_build_object('tag', t.tag, 'count', t.count) ORDER BY t.rank)
                          FROM tag_counts t
                          WHERE t.project_id = m.project_id AND t.model = m.model
                            AND t.prompt_template IS NOT DISTINCT FROM m.prompt_template
                            AND t.rank <= $6), '[]'::jsonb) AS top_tags
         FROM matching m
         GROUP BY project_id, model, prompt_template
         ORDER BY project_id, model, prompt_template NULLS FIRST",
    )
    .bind(filter.project)
    .bind(&filter.model)
    .bind(&filter.prompt_template)
    .bind(filter.from)
    .bind(filter.to)
    .bind(TOP_TAGS)
    .fetch_all(pool)
    .await?;
    Ok(groups
        .into_iter()
        .map(|g| SummaryRow {
            project_id: g.project_id,
            model: g.model,
            prompt_template: g.prompt_template,
            count: g.count,
            average_rating: g.average_rating,
            ratings: [g.r1, g.r2, g.r3, g.r4, g.r5],
            average_prompt_effectiveness: g.average_prompt_effectiveness,
            top_tags: g.top_tags.0,
        })
        .collect())
}
