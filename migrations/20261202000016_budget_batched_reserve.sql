-- Budgeted submits are batched like any other. A job without an idempotency
-- key cannot conflict, so it reserves in a BEFORE INSERT trigger, which skips
-- the row (inserts nothing, reserves nothing) when it does not fit: the other
-- jobs of the batch go on. A job with a key may turn out to be a replay that
-- ON CONFLICT skips after BEFORE triggers ran, so it keeps reserving AFTER the
-- insert (only rows really inserted reserve) and fails its own statement when
-- it does not fit; the producer inserts such jobs alone. Rows of one statement
-- are processed one after another, and each trigger's UPDATE sees the ones
-- before it, so a batch cannot pass the budget either.

CREATE OR REPLACE FUNCTION budget_reserve() RETURNS trigger LANGUAGE plpgsql AS $$
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

DROP TRIGGER jobs_budget_reserve ON jobs;

CREATE TRIGGER jobs_budget_reserve_in_batch BEFORE INSERT ON jobs
FOR EACH ROW WHEN (NEW.budget_reserved_usd IS NOT NULL AND NEW.idempotency_key IS NULL)
EXECUTE FUNCTION budget_reserve();

CREATE TRIGGER jobs_budget_reserve AFTER INSERT ON jobs
FOR EACH ROW WHEN (NEW.budget_reserved_usd IS NOT NULL AND NEW.idempotency_key IS NOT NULL)
EXECUTE FUNCTION budget_reserve();
