-- Monthly budgets (calendar months, UTC) per project that cannot leak.
--
-- At submit a budgeted project's job reserves its worst-case cost in the same
-- statement that inserts it: a trigger adds it to the month's `reserved_usd`
-- only if spent + reserved + it stays within the budget. The month's row is
-- locked by that UPDATE, so concurrent submits queue on it and each sees what
-- the previous ones reserved; rows of one statement are processed one after
-- another and each trigger's UPDATE sees the ones before it, so neither races
-- nor batches let spend pass the budget.
--
-- Budgeted submits are batched like any other. A job without an idempotency
-- key cannot conflict, so it reserves in a BEFORE INSERT trigger, which skips
-- the row (inserts nothing, reserves nothing) when it does not fit: the other
-- jobs of the batch go on. A job with a key may turn out to be a replay that
-- ON CONFLICT skips after BEFORE triggers ran, so it reserves AFTER the insert
-- (only rows really inserted reserve) and fails its own statement when it does
-- not fit; the producer inserts such jobs alone.
--
-- When the job finishes (any terminal state) the settle trigger moves its real
-- cost (the billed calls' `metrics.cost_usd`) to `spent_usd` and releases the
-- whole reservation, in the statement that finishes it, so exactly once. Money
-- is NUMERIC: sums are exact, so a budget that fits N jobs fits exactly N.

CREATE TABLE budgets (
    project_id   UUID PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    monthly_usd  NUMERIC NOT NULL CHECK (monthly_usd >= 0),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE budget_months (
    project_id    UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    -- The month's first day (UTC).
    month         DATE NOT NULL,
    spent_usd     NUMERIC NOT NULL DEFAULT 0,
    reserved_usd  NUMERIC NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, month)
);

-- What the job reserved, and from which month; NULL for jobs of projects
-- without a budget, which no trigger below touches.
ALTER TABLE jobs ADD COLUMN budget_reserved_usd NUMERIC;
ALTER TABLE jobs ADD COLUMN budget_month DATE;

CREATE FUNCTION budget_reserve() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    budget NUMERIC;
    month_row budget_months%ROWTYPE;
BEGIN
    SELECT monthly_usd INTO budget FROM budgets WHERE project_id = NEW.project_id;
    IF NOT FOUND THEN
        -- The budget was removed since the producer looked: nothing to keep.
        RETURN NEW;
    END IF;
    INSERT INTO budget_months (project_id, month) VALUES (NEW.project_id, NEW.budget_month)
    ON CONFLICT DO NOTHING;
    UPDATE budget_months SET reserved_usd = reserved_usd + NEW.budget_reserved_usd
    WHERE project_id = NEW.project_id AND month = NEW.budget_month
      AND spent_usd + reserved_usd + NEW.budget_reserved_usd <= budget;
    IF FOUND THEN
        RETURN NEW;
    END IF;
    IF TG_WHEN = 'BEFORE' THEN
        RETURN NULL;
    END IF;
    SELECT * INTO month_row FROM budget_months
    WHERE project_id = NEW.project_id AND month = NEW.budget_month;
    RAISE EXCEPTION 'budget_exceeded' USING ERRCODE = 'DE402',
        DETAIL = jsonb_build_object('budget_usd', budget, 'spent_usd', month_row.spent_usd,
                                    'reserved_usd', month_row.reserved_usd,
                                    'required_usd', NEW.budget_reserved_usd,
                                    'month', NEW.budget_month)::text;
END $$;

CREATE TRIGGER jobs_budget_reserve_in_batch BEFORE INSERT ON jobs
FOR EACH ROW WHEN (NEW.budget_reserved_usd IS NOT NULL AND NEW.idempotency_key IS NULL)
EXECUTE FUNCTION budget_reserve();

CREATE TRIGGER jobs_budget_reserve AFTER INSERT ON jobs
FOR EACH ROW WHEN (NEW.budget_reserved_usd IS NOT NULL AND NEW.idempotency_key IS NOT NULL)
EXECUTE FUNCTION budget_reserve();

-- Settles a job's month: on the move to a terminal state, its cost so far is
-- spent and its reservation released; a billed call recorded after that (one
-- in flight when the job was canceled) adds its cost as it lands.
CREATE FUNCTION budget_settle() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_final BOOLEAN := OLD.status IN ('succeeded', 'failed', 'canceled');
    cost NUMERIC := COALESCE((NEW.metrics->>'cost_usd')::numeric, 0);
    before NUMERIC := COALESCE((OLD.metrics->>'cost_usd')::numeric, 0);
BEGIN
    UPDATE budget_months
    SET spent_usd = spent_usd + CASE WHEN was_final THEN cost - before ELSE cost END,
        reserved_usd = reserved_usd - CASE WHEN was_final THEN 0 ELSE NEW.budget_reserved_usd END
    WHERE project_id = NEW.project_id AND month = NEW.budget_month;
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_budget_settle AFTER UPDATE ON jobs
FOR EACH ROW WHEN (NEW.budget_reserved_usd IS NOT NULL
    AND NEW.status IN ('succeeded', 'failed', 'canceled')
    AND (OLD.status NOT IN ('succeeded', 'failed', 'canceled')
         OR NEW.metrics->'cost_usd' IS DISTINCT FROM OLD.metrics->'cost_usd'))
EXECUTE FUNCTION budget_settle();

-- Producers keep which projects have a budget; this tells them it changed.
CREATE FUNCTION budgets_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('de_budgets', COALESCE(NEW.project_id, OLD.project_id)::text);
    RETURN NULL;
END $$;

CREATE TRIGGER budgets_changed AFTER INSERT OR UPDATE OR DELETE ON budgets
FOR EACH ROW EXECUTE FUNCTION budgets_changed();
