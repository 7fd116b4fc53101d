-- Users and their roles per instance (issue 13). A user acts on the admin
-- API with a token of their own (`de_user_…`, stored as its SHA-256 only, like
-- API keys); what they may do in an instance follows their role there:
-- viewer (read), member (read, and make jobs keys for its projects), admin
-- (projects, keys, the instance's provider keys, members below admin), owner
-- (everything in the instance, its budget and its owners included). The
-- operator's token (`DE_ADMIN_TOKEN`) stays above all instances.
CREATE TABLE users (
    id          UUID PRIMARY KEY,
    email       TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    disabled_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX users_by_email ON users (lower(email));

CREATE TABLE instance_members (
    instance_id  TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    user_id      UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (instance_id, user_id)
);
CREATE INDEX instance_members_by_user ON instance_members (user_id);

CREATE TABLE user_tokens (
    id            UUID PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash    TEXT NOT NULL UNIQUE,
    token_prefix  TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at    TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ,
    -- Written at most once a minute per token.
    last_used_at  TIMESTAMPTZ
);
CREATE INDEX user_tokens_by_user ON user_tokens (user_id);
