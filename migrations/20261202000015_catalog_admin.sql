-- Models and providers managed through the admin API, and seen by every
-- process within a second.
--
-- A provider's key is kept sealed (domain/src/keyring.rs: XChaCha20-Poly1305
-- under DE_SECRET_KEYS, bound to the row), with its last four characters for
-- display. The plaintext `api_key` column of the first migration is read only
-- while no sealed key is set; `electrons admin rotate-secrets` seals it and
-- clears it.
ALTER TABLE providers ADD COLUMN api_key_sealed TEXT;
ALTER TABLE providers ADD COLUMN api_key_last4 TEXT;

-- active and beta run; deprecated runs and says so; disabled is gone from the
-- catalog (its jobs fail `model_unavailable`).
ALTER TABLE models ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'beta', 'deprecated', 'disabled'));
UPDATE models SET status = 'disabled' WHERE NOT enabled;
ALTER TABLE models ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT now();

-- Every process reloads its catalog when told (and every few seconds anyway).
CREATE FUNCTION catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('de_catalog', TG_TABLE_NAME);
    RETURN NULL;
END $$;

CREATE TRIGGER providers_changed AFTER INSERT OR UPDATE OR DELETE ON providers
FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
CREATE TRIGGER models_changed AFTER INSERT OR UPDATE OR DELETE ON models
FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
