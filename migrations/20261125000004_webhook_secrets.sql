-- Each project's webhook signing secrets (Standard Webhooks, `whsec_…`). The
-- current one has no retires_at; a rotation gives the previous one a
-- retires_at in the future, and until then deliveries carry both signatures.
-- Stored as the client sees them: the API must be able to show them again.
CREATE TABLE webhook_secrets (
    id          UUID PRIMARY KEY,
    project_id  UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    secret      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    retires_at  TIMESTAMPTZ
);

CREATE UNIQUE INDEX webhook_secrets_current ON webhook_secrets (project_id) WHERE retires_at IS NULL;
CREATE INDEX webhook_secrets_by_project ON webhook_secrets (project_id, created_at DESC);
