-- What users thought of a job's output (issue 13): one feedback per job,
-- replaced when sent again, aggregated per model and project.

CREATE TABLE job_feedback (
    job_id                UUID PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    project_id            UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    -- Copied from the job, so summaries need no join.
    model                 TEXT NOT NULL,
    rating                SMALLINT NOT NULL CHECK (rating BETWEEN 1 AND 5),
    prompt_effectiveness  SMALLINT CHECK (prompt_effectiveness BETWEEN 1 AND 5),
    comment               TEXT CHECK (char_length(comment) <= 4000),
    tags                  TEXT[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX job_feedback_summary ON job_feedback (project_id, model, updated_at);
