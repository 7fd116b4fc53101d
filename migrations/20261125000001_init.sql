-- The core schema: who may submit (projects, API keys), what can be run (providers,
-- models), how fast (token buckets) and the jobs themselves. State transitions are
-- single conditional UPDATEs in domain/src/db/jobs.rs; the CHECKs here keep the
-- columns honest whatever code writes them.

CREATE TABLE projects (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id          UUID PRIMARY KEY,
    project_id  UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    -- SHA-256 of the key; the key itself is shown once and never stored.
    key_hash    TEXT NOT NULL UNIQUE,
    key_prefix  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at  TIMESTAMPTZ
);

CREATE TABLE providers (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    base_url    TEXT NOT NULL,
    -- NULL means "no key configured"; processes may still supply one from the
    -- environment (DE_PROVIDER_<ID>_API_KEY), which wins.
    api_key     TEXT,
    timeout_ms  INTEGER NOT NULL DEFAULT 120000 CHECK (timeout_ms > 0),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE models (
    id                   TEXT PRIMARY KEY,
    modality             TEXT NOT NULL CHECK (modality IN ('text','image','audio','media','video')),
    provider_id          TEXT NOT NULL REFERENCES providers(id),
    provider_model       TEXT NOT NULL,
    default_max_tokens   INTEGER NOT NULL DEFAULT 1024 CHECK (default_max_tokens > 0),
    max_output_tokens    INTEGER NOT NULL DEFAULT 4096 CHECK (max_output_tokens > 0),
    input_usd_per_mtok   DOUBLE PRECISION NOT NULL DEFAULT 0,
    output_usd_per_mtok  DOUBLE PRECISION NOT NULL DEFAULT 0,
    enabled              BOOLEAN NOT NULL DEFAULT true,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One requests-per-second bucket per provider, shared by every worker process.
-- capacity is the burst; tokens refill continuously at refill_per_sec.
CREATE TABLE token_buckets (
    provider_id     TEXT PRIMARY KEY REFERENCES providers(id) ON DELETE CASCADE,
    capacity        DOUBLE PRECISION NOT NULL CHECK (capacity >= 1),
    refill_per_sec  DOUBLE PRECISION NOT NULL CHECK (refill_per_sec > 0),
    tokens          DOUBLE PRECISION NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    -- Set from a provider's 429 Retry-After: nobody takes a token before then.
    paused_until    TIMESTAMPTZ
);

CREATE TABLE jobs (
    id                     UUID PRIMARY KEY,
    project_id             UUID NOT NULL REFERENCES projects(id),
    model                  TEXT NOT NULL REFERENCES models(id),
    modality               TEXT NOT NULL,
    provider               TEXT NOT NULL,
    status                 TEXT NOT NULL DEFAULT 'queued'
                           CHECK (status IN ('queued','running','succeeded','failed','canceled')),
    priority               TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('high','normal','low')),
    input                  JSONB NOT NULL,
    output                 JSONB,
    error                  JSONB,
    metrics                JSONB NOT NULL DEFAULT '{}',
    metadata               JSONB NOT NULL DEFAULT '{}',
    webhook                TEXT,
    webhook_events_filter  TEXT[] NOT NULL DEFAULT '{completed}',
    -- Number of times a worker has claimed the job; messages carry the value the
    -- job had when they were published, so stale copies cannot claim it.
    attempt                INTEGER NOT NULL DEFAULT 0,
    max_attempts           INTEGER NOT NULL CHECK (max_attempts > 0),
    lease_until            TIMESTAMPTZ,
    -- Earliest time a worker may run it (retries with backoff).
    run_at                 TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- When the scheduler must publish the job if nobody confirmed a publish by then.
    -- NULL once the broker confirmed a message for the current attempt.
    publish_at             TIMESTAMPTZ,
    idempotency_key        TEXT,
    request_hash           TEXT,
    -- Set when a client holds its submit open (Prefer: wait); the trigger below
    -- then tells the producers the job finished.
    notify_on_finish       BOOLEAN NOT NULL DEFAULT false,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at             TIMESTAMPTZ,
    completed_at           TIMESTAMPTZ,
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX jobs_idempotency ON jobs (project_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_to_publish ON jobs (publish_at) WHERE publish_at IS NOT NULL;
CREATE INDEX jobs_leases ON jobs (lease_until) WHERE status = 'running';
CREATE INDEX jobs_by_project ON jobs (project_id, id DESC);

CREATE FUNCTION notify_job_finished() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('de_job_finished', NEW.id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_finished AFTER UPDATE OF status ON jobs
    FOR EACH ROW
    WHEN (NEW.notify_on_finish AND NEW.status IN ('succeeded','failed','canceled')
          AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION notify_job_finished();

-- Takes up to p_want tokens from a provider's bucket in one round trip.
-- Returns how many were granted and, when none were, how long until one will be.
CREATE FUNCTION take_tokens(p_provider TEXT, p_want INTEGER)
RETURNS TABLE (granted INTEGER, wait_ms INTEGER) LANGUAGE plpgsql AS $$
DECLARE
    b        token_buckets%ROWTYPE;
    now_ts   TIMESTAMPTZ := clock_timestamp();
    avail    DOUBLE PRECISION;
    g        INTEGER;
BEGIN
    SELECT * INTO b FROM token_buckets WHERE provider_id = p_provider FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no token bucket for provider %', p_provider USING ERRCODE = 'no_data_found';
    END IF;
    IF b.paused_until IS NOT NULL AND b.paused_until > now_ts THEN
        RETURN QUERY SELECT 0, GREATEST(1, ceil(extract(epoch FROM b.paused_until - now_ts) * 1000))::INTEGER;
        RETURN;
    END IF;
    avail := LEAST(b.capacity, b.tokens + GREATEST(0, extract(epoch FROM now_ts - b.updated_at)) * b.refill_per_sec);
    g := GREATEST(0, LEAST(p_want, floor(avail)::INTEGER));
    UPDATE token_buckets SET tokens = avail - g, updated_at = now_ts WHERE provider_id = p_provider;
    IF g > 0 THEN
        RETURN QUERY SELECT g, 0;
    ELSE
        RETURN QUERY SELECT 0, GREATEST(1, ceil((1 - avail) / b.refill_per_sec * 1000))::INTEGER;
    END IF;
END $$;
