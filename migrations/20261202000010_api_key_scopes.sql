-- Generated API keys (issue 13): a name, an environment (the key's prefix says
-- it too), scopes, an optional expiry and when the key was last used (written
-- in batches). A trigger tells every producer when a key changes, so a
-- revocation takes effect everywhere within moments, not at a cache's expiry.

ALTER TABLE api_keys
    ADD COLUMN name         TEXT NOT NULL DEFAULT '',
    ADD COLUMN environment  TEXT NOT NULL DEFAULT 'live' CHECK (environment IN ('live', 'test')),
    ADD COLUMN scopes       TEXT[] NOT NULL DEFAULT ARRAY['jobs:write', 'jobs:read']
        CHECK (scopes <@ ARRAY['jobs:write', 'jobs:read', 'admin'] AND cardinality(scopes) > 0),
    ADD COLUMN expires_at   TIMESTAMPTZ,
    ADD COLUMN last_used_at TIMESTAMPTZ;

CREATE INDEX api_keys_project ON api_keys (project_id, created_at);

CREATE FUNCTION api_keys_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('de_api_keys', OLD.key_hash);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- Not on last_used_at alone: that changes every few seconds and says nothing
-- a cache holds.
CREATE TRIGGER api_keys_changed
    AFTER UPDATE OF revoked_at, expires_at, scopes, project_id, key_hash OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION api_keys_changed();
