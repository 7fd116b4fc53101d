-- Webhook deliveries. A delivery row is written by a trigger in the same
-- transaction as the job's transition it reports, so an event is never lost
-- between the job's commit and the hand-over to delivery (invariant 5). The row
-- is the truth; a message on the webhook queue only says "this one is due",
-- exactly as for jobs (domain/src/db/webhook_deliveries.rs).

-- What we learned about a project's webhook URL: a 410 disables it until the
-- client enables it again; 429/502/504 with Retry-After pause it.
CREATE TABLE webhook_endpoints (
    project_id       UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    url              TEXT NOT NULL,
    disabled_at      TIMESTAMPTZ,
    disabled_reason  TEXT,
    paused_until     TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, url)
);

CREATE TABLE webhook_deliveries (
    -- `webhook-id` is `msg_` + this: the same on every attempt of the event.
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id           UUID NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    project_id       UUID NOT NULL,
    event            TEXT NOT NULL CHECK (event IN ('start', 'completed')),
    url              TEXT NOT NULL,
    -- The job row when the event happened; the body is rendered from it, so a
    -- `start` event shows the job running even if it finished since.
    snapshot         JSONB NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivering', 'delivered', 'exhausted', 'disabled')),
    -- Times a consumer took the delivery; messages carry the value at publish,
    -- so duplicates and stale copies claim nothing (the fencing token).
    claims           INTEGER NOT NULL DEFAULT 0,
    -- HTTP attempts made, numbering the rows of webhook_attempts.
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- Attempts since the retry schedule (re)started; a redelivery resets it.
    schedule_step    INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- When the scheduler publishes it if no publish was confirmed by then
    -- (the process that committed the event publishes at once).
    publish_at       TIMESTAMPTZ DEFAULT now() + interval '2 seconds',
    lease_until      TIMESTAMPTZ,
    last_status_code INTEGER,
    last_error       TEXT,
    delivered_at     TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (job_id, event)
);

CREATE INDEX webhook_deliveries_to_publish ON webhook_deliveries (publish_at) WHERE publish_at IS NOT NULL;
CREATE INDEX webhook_deliveries_leases ON webhook_deliveries (lease_until) WHERE status = 'delivering';
-- Enabling an endpoint again finds the deliveries it refused.
CREATE INDEX webhook_deliveries_refused ON webhook_deliveries (project_id, url) WHERE status = 'disabled';

CREATE TABLE webhook_attempts (
    delivery_id       UUID NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt           INTEGER NOT NULL,
    started_at        TIMESTAMPTZ NOT NULL,
    status_code       INTEGER,
    latency_ms        INTEGER NOT NULL,
    error             TEXT,
    -- The start of the receiver's answer, to tell the client what it said.
    response_excerpt  TEXT,
    PRIMARY KEY (delivery_id, attempt)
);

CREATE FUNCTION enqueue_webhook_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    happened TEXT := CASE WHEN NEW.status = 'running' THEN 'start' ELSE 'completed' END;
BEGIN
    IF happened = ANY (NEW.webhook_events_filter) THEN
        INSERT INTO webhook_deliveries (job_id, project_id, event, url, snapshot)
        VALUES (NEW.id, NEW.project_id, happened, NEW.webhook, to_jsonb(NEW))
        ON CONFLICT (job_id, event) DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

-- `start` is the first claim (started_at was unset); `completed` any terminal state.
CREATE TRIGGER jobs_webhook_events AFTER UPDATE OF status ON jobs
    FOR EACH ROW
    WHEN (NEW.webhook IS NOT NULL AND OLD.status IS DISTINCT FROM NEW.status
          AND (NEW.status IN ('succeeded', 'failed', 'canceled')
               OR (NEW.status = 'running' AND OLD.started_at IS NULL)))
    EXECUTE FUNCTION enqueue_webhook_event();
