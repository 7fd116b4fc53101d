-- Tenancy (issue 13): organizations → instances → projects, and provider
-- credentials per instance (bring your own key).
--
-- Every project belongs to an instance; the projects that existed before
-- belong to the `default` instance of the `default` organization.
CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE instances (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations(id),
    name             TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX instances_by_organization ON instances (organization_id);

INSERT INTO organizations (id, name) VALUES ('default', 'Default organization');
INSERT INTO instances (id, organization_id, name) VALUES ('default', 'default', 'Default instance');

ALTER TABLE projects ADD COLUMN instance_id TEXT NOT NULL DEFAULT 'default' REFERENCES instances(id);
CREATE INDEX projects_by_instance ON projects (instance_id);

-- An instance's own key for a provider is a provider row of its own,
-- `<provider>@<instance>`: it speaks what its base provider speaks, where it
-- does (kind, base URL and timeout follow the base), with the instance's key
-- sealed like any provider's. Being a provider of its own, it has its own rate
-- limits: two instances with their own keys never share a bucket, instances on
-- the deployment's key do.
ALTER TABLE providers ADD COLUMN instance_id TEXT REFERENCES instances(id) ON DELETE CASCADE;
ALTER TABLE providers ADD COLUMN base_provider_id TEXT REFERENCES providers(id) ON DELETE CASCADE;
ALTER TABLE providers ADD CONSTRAINT providers_credential_shape
    CHECK ((instance_id IS NULL) = (base_provider_id IS NULL)
           AND (instance_id IS NULL OR id = base_provider_id || '@' || instance_id));

CREATE FUNCTION provider_credentials_follow_base() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE providers SET kind = NEW.kind, base_url = NEW.base_url, timeout_ms = NEW.timeout_ms, updated_at = now()
    WHERE base_provider_id = NEW.id
      AND (kind, base_url, timeout_ms) IS DISTINCT FROM (NEW.kind, NEW.base_url, NEW.timeout_ms);
    RETURN NULL;
END $$;

CREATE TRIGGER providers_base_changed AFTER UPDATE OF kind, base_url, timeout_ms ON providers
FOR EACH ROW WHEN (NEW.base_provider_id IS NULL) EXECUTE FUNCTION provider_credentials_follow_base();

-- Which key a worker uses depends on the job's project's instance, so every
-- process reloads its catalog when a project moves into or out of an instance
-- that has keys of its own.
CREATE FUNCTION project_instance_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM providers
               WHERE instance_id = NEW.instance_id
                  OR (TG_OP = 'UPDATE' AND instance_id = OLD.instance_id)) THEN
        PERFORM pg_notify('de_catalog', 'projects');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER projects_instance_changed AFTER INSERT OR UPDATE OF instance_id ON projects
FOR EACH ROW EXECUTE FUNCTION project_instance_changed();
