-- Every change made through the admin API (issue 13): who, what, when, and the
-- thing before and after, secrets masked. Written in the change's own
-- transaction, so a change without its entry cannot be committed.

CREATE TABLE admin_audit (
    id          UUID PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- `operator`, or `key:<api key id>` for a project's admin key.
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    -- What was changed: `api_key:<id>`, `rate_limit:<id>`.
    target      TEXT NOT NULL,
    -- The project the change belongs to, where it belongs to one.
    project_id  UUID REFERENCES projects(id) ON DELETE SET NULL,
    before      JSONB,
    after       JSONB
);

CREATE INDEX admin_audit_at ON admin_audit (at DESC, id DESC);
CREATE INDEX admin_audit_project ON admin_audit (project_id, at DESC);
