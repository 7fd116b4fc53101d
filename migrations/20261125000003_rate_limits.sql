-- Fleet-wide rate limits (invariant 4). Replaces the single requests-per-second
-- bucket of the first migration with limits that cover every dimension a
-- provider meters: requests, tokens (combined, or input and output apart) and
-- concurrent calls. Rows are the one source of truth for every worker process;
-- the functions below are the only writers of their state columns, and each
-- locks the rows it touches in id order so concurrent callers never deadlock.
--
-- A limit applies to a job when it names the job's provider (and, if set, its
-- model), or the job's project (a per-project jobs-per-interval quota).

DROP FUNCTION take_tokens(TEXT, INTEGER);
DROP TABLE token_buckets;

-- Runs that ended deferred for rate limits use up no attempt; `attempt` itself
-- only ever grows, because it fences messages and publish confirmations.
ALTER TABLE jobs ADD COLUMN deferrals INTEGER NOT NULL DEFAULT 0 CHECK (deferrals >= 0);

CREATE TABLE rate_limits (
    id                          TEXT PRIMARY KEY,
    provider_id                 TEXT REFERENCES providers(id) ON DELETE CASCADE,
    model_id                    TEXT REFERENCES models(id) ON DELETE CASCADE,
    project_id                  UUID REFERENCES projects(id) ON DELETE CASCADE,

    -- Requests: refill requests_per_interval every request_interval_ms, up to
    -- request_burst at once. NULL means this limit does not meter requests.
    requests_per_interval       DOUBLE PRECISION CHECK (requests_per_interval > 0),
    request_interval_ms         INTEGER NOT NULL DEFAULT 1000 CHECK (request_interval_ms > 0),
    request_burst               DOUBLE PRECISION CHECK (request_burst >= 1),
    -- Calls granted apart do not arrive apart: scheduling and the network
    -- bunch some of them up. This much of each rate (requests and tokens) is
    -- kept out of its bucket, so that what the provider counts at arrival
    -- stays within rate + bucket in every window (see `electrons bench-limits`).
    arrival_margin_ms           INTEGER NOT NULL DEFAULT 50 CHECK (arrival_margin_ms >= 0),

    -- LLM tokens per token_interval_ms: combined (OpenAI's TPM) and/or input and
    -- output apart (Anthropic's ITPM/OTPM). The bucket holds one interval's worth.
    tokens_per_interval         BIGINT CHECK (tokens_per_interval > 0),
    input_tokens_per_interval   BIGINT CHECK (input_tokens_per_interval > 0),
    output_tokens_per_interval  BIGINT CHECK (output_tokens_per_interval > 0),
    token_interval_ms           INTEGER NOT NULL DEFAULT 60000 CHECK (token_interval_ms > 0),

    -- Calls in flight at once. Each is a lease in rate_limit_leases that lapses
    -- after lease_ms, so a worker that dies mid-call frees its slot.
    max_concurrent              INTEGER CHECK (max_concurrent > 0),
    lease_ms                    INTEGER NOT NULL DEFAULT 150000 CHECK (lease_ms > 0),

    -- What the provider's rate-limit headers last said its per-minute limits
    -- are; when lower than configured, they win.
    reported_requests_per_minute       DOUBLE PRECISION,
    reported_tokens_per_minute         DOUBLE PRECISION,
    reported_input_tokens_per_minute   DOUBLE PRECISION,
    reported_output_tokens_per_minute  DOUBLE PRECISION,

    -- State: what is left in each bucket as of updated_at (refill is computed
    -- from the elapsed time, so idle limits cost no writes).
    request_level               DOUBLE PRECISION NOT NULL DEFAULT 0,
    token_level                 DOUBLE PRECISION NOT NULL DEFAULT 0,
    input_token_level           DOUBLE PRECISION NOT NULL DEFAULT 0,
    output_token_level          DOUBLE PRECISION NOT NULL DEFAULT 0,
    -- The epoch: a new limit starts full.
    updated_at                  TIMESTAMPTZ NOT NULL DEFAULT 'epoch',
    -- A provider's 429 Retry-After: nobody is granted anything before then.
    paused_until                TIMESTAMPTZ,

    -- Counters since the row was created, for the admin API.
    granted                     BIGINT NOT NULL DEFAULT 0,
    waited                      BIGINT NOT NULL DEFAULT 0,
    wait_ms                     BIGINT NOT NULL DEFAULT 0,
    deferred                    BIGINT NOT NULL DEFAULT 0,
    throttled                   BIGINT NOT NULL DEFAULT 0,
    tokens_reserved             BIGINT NOT NULL DEFAULT 0,
    tokens_refunded             BIGINT NOT NULL DEFAULT 0,

    created_at                  TIMESTAMPTZ NOT NULL DEFAULT now(),
    config_updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),

    CHECK ((provider_id IS NOT NULL AND project_id IS NULL)
        OR (provider_id IS NULL AND model_id IS NULL AND project_id IS NOT NULL))
);

CREATE INDEX rate_limits_by_provider ON rate_limits (provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX rate_limits_by_project ON rate_limits (project_id) WHERE project_id IS NOT NULL;

CREATE TABLE rate_limit_leases (
    rate_limit_id  TEXT NOT NULL REFERENCES rate_limits(id) ON DELETE CASCADE,
    -- The job holding the slot (a rerun of the same job renews, never doubles).
    holder         UUID NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (rate_limit_id, holder)
);

-- Refill rates per second, after any lower provider report.
CREATE FUNCTION rate_limit_request_rate(r rate_limits) RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE AS $$
    SELECT LEAST(r.requests_per_interval * 1000.0 / r.request_interval_ms,
                 COALESCE(r.reported_requests_per_minute / 60.0, 'Infinity'))
$$;

CREATE FUNCTION rate_limit_token_rate(per_interval BIGINT, interval_ms INTEGER, reported_per_minute DOUBLE PRECISION)
RETURNS DOUBLE PRECISION LANGUAGE sql IMMUTABLE AS $$
    SELECT LEAST(per_interval * 1000.0 / interval_ms, COALESCE(reported_per_minute / 60.0, 'Infinity'))
$$;

-- The bucket size of a token dimension (1 combined, 2 input, 3 output) less
-- the arrival margin; NULL when the limit does not meter that dimension.
CREATE FUNCTION rate_limit_token_cap(r rate_limits, dim INTEGER) RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN d.per IS NULL THEN NULL ELSE
        GREATEST(1, d.per - rate_limit_token_rate(d.per, r.token_interval_ms, d.reported) * r.arrival_margin_ms / 1000.0)
    END
    FROM (SELECT CASE dim WHEN 1 THEN r.tokens_per_interval
                          WHEN 2 THEN r.input_tokens_per_interval
                          ELSE r.output_tokens_per_interval END AS per,
                 CASE dim WHEN 1 THEN r.reported_tokens_per_minute
                          WHEN 2 THEN r.reported_input_tokens_per_minute
                          ELSE r.reported_output_tokens_per_minute END AS reported) AS d
$$;

CREATE FUNCTION rate_limit_request_burst(r rate_limits) RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE AS $$
    SELECT GREATEST(1, COALESCE(r.request_burst, GREATEST(1, r.requests_per_interval))
                       - rate_limit_request_rate(r) * r.arrival_margin_ms / 1000.0)
$$;

-- The row with every bucket refilled to now_ts (state is stored as of
-- updated_at; whoever writes it first brings all levels forward).
CREATE FUNCTION rate_limit_refilled(r rate_limits, now_ts TIMESTAMPTZ) RETURNS rate_limits
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    elapsed DOUBLE PRECISION := GREATEST(0, extract(epoch FROM now_ts - r.updated_at));
BEGIN
    r.request_level := CASE WHEN r.requests_per_interval IS NULL THEN 0 ELSE
        LEAST(rate_limit_request_burst(r), r.request_level + elapsed * rate_limit_request_rate(r)) END;
    r.token_level := CASE WHEN r.tokens_per_interval IS NULL THEN 0 ELSE
        LEAST(rate_limit_token_cap(r, 1), r.token_level + elapsed * rate_limit_token_rate(
            r.tokens_per_interval, r.token_interval_ms, r.reported_tokens_per_minute)) END;
    r.input_token_level := CASE WHEN r.input_tokens_per_interval IS NULL THEN 0 ELSE
        LEAST(rate_limit_token_cap(r, 2), r.input_token_level + elapsed * rate_limit_token_rate(
            r.input_tokens_per_interval, r.token_interval_ms, r.reported_input_tokens_per_minute)) END;
    r.output_token_level := CASE WHEN r.output_tokens_per_interval IS NULL THEN 0 ELSE
        LEAST(rate_limit_token_cap(r, 3), r.output_token_level + elapsed * rate_limit_token_rate(
            r.output_tokens_per_interval, r.token_interval_ms, r.reported_output_tokens_per_minute)) END;
    r.updated_at := GREATEST(r.updated_at, now_ts);
    RETURN r;
END $$;

-- Grants the longest prefix of a process's waiters that every applicable limit
-- admits, in one round trip. p_holders, p_input and p_output describe the
-- waiters in order (the holder id and the tokens each reserves). p_waited,
-- p_wait_ms and p_deferred are the caller's counters since its last call.
-- Returns how many were granted; when none were, how long until one may be;
-- the request rate the tightest limit allows (for waiting-time estimates); and
-- the ids of the limits whose reservations must be settled after the call.
CREATE FUNCTION acquire_rate_limits(
    p_provider TEXT, p_model TEXT, p_project UUID,
    p_holders UUID[], p_input BIGINT[], p_output BIGINT[],
    p_waited INTEGER, p_wait_ms BIGINT, p_deferred INTEGER)
RETURNS TABLE (granted INTEGER, wait_ms INTEGER, requests_per_sec DOUBLE PRECISION, settle_ids TEXT[])
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    now_ts       TIMESTAMPTZ := clock_timestamp();
    n            INTEGER := COALESCE(array_length(p_holders, 1), 0);
    g            INTEGER := COALESCE(array_length(p_holders, 1), 0);
    wait         DOUBLE PRECISION := 0;
    rps          DOUBLE PRECISION := 'Infinity';
    r            rate_limits%ROWTYPE;
    rows         rate_limits[] := '{}';
    settles      TEXT[] := '{}';
    rate         DOUBLE PRECISION;
    cap          DOUBLE PRECISION;
    lvl          DOUBLE PRECISION;
    fit          INTEGER;
    active       INTEGER;
    has_provider BOOLEAN := false;
    dim          INTEGER;
    cost         DOUBLE PRECISION;
    total_cost   DOUBLE PRECISION;
BEGIN
    FOR r IN
        SELECT * FROM rate_limits
        WHERE (provider_id = p_provider AND (model_id IS NULL OR model_id = p_model))
           OR project_id = p_project
        ORDER BY id FOR UPDATE
    LOOP
        r := rate_limit_refilled(r, now_ts);
        rows := rows || r;
        has_provider := has_provider OR (r.provider_id IS NOT NULL AND r.model_id IS NULL);

        IF r.paused_until IS NOT NULL AND r.paused_until > now_ts THEN
            g := 0;
            wait := GREATEST(wait, extract(epoch FROM r.paused_until - now_ts) * 1000);
        END IF;

        IF r.requests_per_interval IS NOT NULL THEN
            rate := rate_limit_request_rate(r);
            g := LEAST(g, GREATEST(0, floor(r.request_level))::INTEGER);
            IF r.request_level < 1 THEN wait := GREATEST(wait, (1 - r.request_level) / rate * 1000); END IF;
            rps := LEAST(rps, rate);
        END IF;

        -- Tokens: 1 = combined, 2 = input, 3 = output.
        FOR dim IN 1..3 LOOP
            CONTINUE WHEN rate_limit_token_cap(r, dim) IS NULL;
            cap := rate_limit_token_cap(r, dim);
            rate := rate_limit_token_rate(CASE dim WHEN 1 THEN r.tokens_per_interval
                                                  WHEN 2 THEN r.input_tokens_per_interval
                                                  ELSE r.output_tokens_per_interval END, r.token_interval_ms,
                CASE dim WHEN 1 THEN r.reported_tokens_per_minute
                         WHEN 2 THEN r.reported_input_tokens_per_minute
                         ELSE r.reported_output_tokens_per_minute END);
            lvl := CASE dim WHEN 1 THEN r.token_level WHEN 2 THEN r.input_token_level ELSE r.output_token_level END;
            -- The longest prefix whose reservations fit; one larger than the
            -- whole bucket is admitted once the bucket is full.
            fit := 0;
            total_cost := 0;
            WHILE fit < g LOOP
                cost := LEAST(cap, CASE dim WHEN 1 THEN p_input[fit + 1] + p_output[fit + 1]
                                            WHEN 2 THEN p_input[fit + 1]
                                            ELSE p_output[fit + 1] END);
                EXIT WHEN total_cost + cost > lvl;
                total_cost := total_cost + cost;
                fit := fit + 1;
            END LOOP;
            IF n > 0 THEN
                IF fit = 0 THEN
                    cost := LEAST(cap, CASE dim WHEN 1 THEN p_input[1] + p_output[1]
                                                WHEN 2 THEN p_input[1] ELSE p_output[1] END);
                    wait := GREATEST(wait, (cost - lvl) / rate * 1000);
                END IF;
                -- Calls per second at this bucket's rate: reservations come
                -- back in part when calls settle, so what a call really costs
                -- is its reservation less the share refunded so far.
                SELECT avg(CASE dim WHEN 1 THEN c.i + c.o WHEN 2 THEN c.i ELSE c.o END) INTO cost
                FROM unnest(p_input, p_output) AS c(i, o);
                IF r.tokens_reserved > 0 THEN
                    cost := cost * GREATEST(0.05, 1 - r.tokens_refunded::DOUBLE PRECISION / r.tokens_reserved);
                END IF;
                rps := LEAST(rps, rate / GREATEST(1, cost));
            END IF;
            g := LEAST(g, fit);
            IF NOT r.id = ANY (settles) THEN settles := settles || r.id; END IF;
        END LOOP;

        IF r.max_concurrent IS NOT NULL THEN
            DELETE FROM rate_limit_leases WHERE rate_limit_id = r.id AND expires_at <= now_ts;
            SELECT count(*) INTO active FROM rate_limit_leases
            WHERE rate_limit_id = r.id AND NOT holder = ANY (p_holders);
            g := LEAST(g, GREATEST(0, r.max_concurrent - active));
            IF active >= r.max_concurrent THEN
                -- Slots free when holders settle, which nothing announces: poll.
                wait := GREATEST(wait, 100);
            END IF;
            IF NOT r.id = ANY (settles) THEN settles := settles || r.id; END IF;
        END IF;
    END LOOP;

    IF NOT has_provider THEN
        RAISE EXCEPTION 'no rate limit for provider %', p_provider USING ERRCODE = 'no_data_found';
    END IF;
    g := GREATEST(0, g);

    -- Charge the granted prefix to every limit and record the counters.
    FOREACH r IN ARRAY rows LOOP
        UPDATE rate_limits AS l SET
            request_level = CASE WHEN r.requests_per_interval IS NULL THEN 0 ELSE r.request_level - g END,
            token_level = r.token_level - (SELECT COALESCE(sum(LEAST(rate_limit_token_cap(r, 1), c.i + c.o)), 0)
                                           FROM unnest(p_input[1:g], p_output[1:g]) AS c(i, o)
                                           WHERE r.tokens_per_interval IS NOT NULL),
            input_token_level = r.input_token_level - (SELECT COALESCE(sum(LEAST(rate_limit_token_cap(r, 2), c.i)), 0)
                                                       FROM unnest(p_input[1:g]) AS c(i)
                                                       WHERE r.input_tokens_per_interval IS NOT NULL),
            output_token_level = r.output_token_level - (SELECT COALESCE(sum(LEAST(rate_limit_token_cap(r, 3), c.o)), 0)
                                                         FROM unnest(p_output[1:g]) AS c(o)
                                                         WHERE r.output_tokens_per_interval IS NOT NULL),
            updated_at = r.updated_at,
            granted = l.granted + g,
            waited = l.waited + p_waited,
            wait_ms = l.wait_ms + p_wait_ms,
            deferred = l.deferred + p_deferred,
            tokens_reserved = l.tokens_reserved + CASE
                WHEN COALESCE(r.tokens_per_interval, r.input_tokens_per_interval, r.output_tokens_per_interval) IS NOT NULL
                THEN (SELECT COALESCE(sum(c.i + c.o), 0) FROM unnest(p_input[1:g], p_output[1:g]) AS c(i, o))
                ELSE 0 END
        WHERE l.id = r.id;
        IF g > 0 AND r.max_concurrent IS NOT NULL THEN
            INSERT INTO rate_limit_leases (rate_limit_id, holder, expires_at)
            SELECT r.id, h, now_ts + r.lease_ms * interval '1 millisecond'
            FROM unnest(p_holders[1:g]) AS h
            ON CONFLICT (rate_limit_id, holder) DO UPDATE SET expires_at = EXCLUDED.expires_at;
        END IF;
    END LOOP;

    RETURN QUERY SELECT g,
        CASE WHEN g > 0 THEN 0 ELSE GREATEST(1, LEAST(2147483647, ceil(wait)))::INTEGER END,
        rps, settles;
END $$;

-- Settles reservations after calls: returns unused tokens (a negative refund
-- charges usage beyond the estimate) and frees concurrency leases. The arrays
-- are rows of (limit id, holder, input refund, output refund).
CREATE FUNCTION settle_rate_limits(p_ids TEXT[], p_holders UUID[], p_input BIGINT[], p_output BIGINT[])
RETURNS VOID LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    now_ts  TIMESTAMPTZ := clock_timestamp();
    r       rate_limits%ROWTYPE;
    refund  RECORD;
BEGIN
    FOR r IN
        SELECT * FROM rate_limits WHERE id = ANY (p_ids) ORDER BY id FOR UPDATE
    LOOP
        SELECT COALESCE(sum(x.i), 0) AS i, COALESCE(sum(x.o), 0) AS o INTO refund
        FROM unnest(p_ids, p_input, p_output) AS x(id, i, o) WHERE x.id = r.id;
        r := rate_limit_refilled(r, now_ts);
        UPDATE rate_limits AS l SET
            request_level = r.request_level,
            token_level = LEAST(COALESCE(rate_limit_token_cap(r, 1), 0), r.token_level + refund.i + refund.o),
            input_token_level = LEAST(COALESCE(rate_limit_token_cap(r, 2), 0), r.input_token_level + refund.i),
            output_token_level = LEAST(COALESCE(rate_limit_token_cap(r, 3), 0), r.output_token_level + refund.o),
            updated_at = r.updated_at,
            tokens_refunded = l.tokens_refunded + refund.i + refund.o
        WHERE l.id = r.id;
    END LOOP;
    DELETE FROM rate_limit_leases AS x
    USING unnest(p_ids, p_holders) AS h(id, holder)
    WHERE x.rate_limit_id = h.id AND x.holder = h.holder;
END $$;

-- Applies what a provider's rate-limit headers said to the most specific limit
-- of that provider and model: lower reported per-minute limits replace the
-- configured ones, a bucket holding more than the provider's remaining room is
-- cut down to it, and no room at all pauses the limit until the reset.
-- Each dimension is (limit per minute, remaining, ms until reset), NULLs when
-- the provider did not say.
CREATE FUNCTION observe_rate_limits(
    p_provider TEXT, p_model TEXT,
    p_requests DOUBLE PRECISION[], p_tokens DOUBLE PRECISION[],
    p_input DOUBLE PRECISION[], p_output DOUBLE PRECISION[])
RETURNS VOID LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    now_ts TIMESTAMPTZ := clock_timestamp();
    r      rate_limits%ROWTYPE;
    pause  DOUBLE PRECISION := 0;
BEGIN
    SELECT * INTO r FROM rate_limits
    WHERE provider_id = p_provider AND (model_id IS NULL OR model_id = p_model)
    ORDER BY model_id NULLS LAST LIMIT 1 FOR UPDATE;
    IF NOT FOUND THEN RETURN; END IF;
    r := rate_limit_refilled(r, now_ts);
    IF p_requests[1] IS NOT NULL THEN r.reported_requests_per_minute := p_requests[1]; END IF;
    IF p_tokens[1] IS NOT NULL THEN r.reported_tokens_per_minute := p_tokens[1]; END IF;
    IF p_input[1] IS NOT NULL THEN r.reported_input_tokens_per_minute := p_input[1]; END IF;
    IF p_output[1] IS NOT NULL THEN r.reported_output_tokens_per_minute := p_output[1]; END IF;
    IF p_requests[2] IS NOT NULL THEN r.request_level := LEAST(r.request_level, p_requests[2]); END IF;
    IF p_tokens[2] IS NOT NULL THEN r.token_level := LEAST(r.token_level, p_tokens[2]); END IF;
    IF p_input[2] IS NOT NULL THEN r.input_token_level := LEAST(r.input_token_level, p_input[2]); END IF;
    IF p_output[2] IS NOT NULL THEN r.output_token_level := LEAST(r.output_token_level, p_output[2]); END IF;
    IF p_requests[2] <= 0 THEN pause := GREATEST(pause, COALESCE(p_requests[3], 0)); END IF;
    IF p_tokens[2] <= 0 THEN pause := GREATEST(pause, COALESCE(p_tokens[3], 0)); END IF;
    IF p_input[2] <= 0 THEN pause := GREATEST(pause, COALESCE(p_input[3], 0)); END IF;
    IF p_output[2] <= 0 THEN pause := GREATEST(pause, COALESCE(p_output[3], 0)); END IF;
    UPDATE rate_limits AS l SET
        reported_requests_per_minute = r.reported_requests_per_minute,
        reported_tokens_per_minute = r.reported_tokens_per_minute,
        reported_input_tokens_per_minute = r.reported_input_tokens_per_minute,
        reported_output_tokens_per_minute = r.reported_output_tokens_per_minute,
        request_level = r.request_level,
        token_level = r.token_level,
        input_token_level = r.input_token_level,
        output_token_level = r.output_token_level,
        updated_at = r.updated_at,
        paused_until = CASE WHEN pause > 0
            THEN GREATEST(COALESCE(l.paused_until, now_ts), now_ts + pause * interval '1 millisecond')
            ELSE l.paused_until END
    WHERE l.id = r.id;
END $$;

-- A provider's 429: every limit of that provider and model pauses until then.
CREATE FUNCTION pause_rate_limits(p_provider TEXT, p_model TEXT, p_until TIMESTAMPTZ)
RETURNS VOID LANGUAGE sql AS $$
    UPDATE rate_limits SET
        paused_until = GREATEST(COALESCE(paused_until, p_until), p_until),
        throttled = throttled + 1
    WHERE provider_id = p_provider AND (model_id IS NULL OR model_id = p_model)
$$;

-- The defaults: conservative first-tier account limits, so a fresh deployment
-- cannot get an account throttled. Raise them per account through the admin API
-- (PUT /v1/admin/rate-limits/{id}) once you know your tier.
INSERT INTO rate_limits (id, provider_id, requests_per_interval, request_interval_ms, request_burst,
                         tokens_per_interval, input_tokens_per_interval, output_tokens_per_interval,
                         token_interval_ms, max_concurrent) VALUES
    -- 500 requests and 30,000 tokens a minute (OpenAI usage tier 1, gpt-4o).
    ('openai',    'openai',    500, 60000, 20, 30000, NULL, NULL, 60000, NULL),
    -- 50 requests, 40,000 input and 8,000 output tokens a minute (Anthropic tier 1).
    ('anthropic', 'anthropic', 50,  60000, 10, NULL, 40000, 8000, 60000, NULL);
