-- Monthly budgets per instance (issue 13), beside the project budgets of
-- 20261202000014 and kept the same way: a budgeted job reserves its worst case
-- from its project's month and from its instance's month in the statement that
-- inserts it, if it fits both (month rows are locked project first, then
-- instance, so concurrent submits never deadlock); finishing settles both.
CREATE TABLE instance_budgets (
    instance_id  TEXT PRIMARY KEY REFERENCES instances(id) ON DELETE CASCADE,
    monthly_usd  NUMERIC NOT NULL CHECK (monthly_usd >= 0),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE instance_budget_months (
    instance_id   TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    month         DATE NOT NULL,
    spent_usd     NUMERIC NOT NULL DEFAULT 0,
    reserved_usd  NUMERIC NOT NULL DEFAULT 0,
    PRIMARY KEY (instance_id, month)
);

-- The instance whose budget the job reserved from (its project's when it was
-- submitted, had that instance a budget); settling goes there even if the
-- project moved since.
ALTER TABLE jobs ADD COLUMN budget_instance_id TEXT;

CREATE FUNCTION budget_instance_of() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT p.instance_id INTO NEW.budget_instance_id
    FROM projects p JOIN instance_budgets b ON b.instance_id = p.instance_id
    WHERE p.id = NEW.project_id;
    RETURN NEW;
END $$;

-- Named to run before jobs_budget_reserve_in_batch (BEFORE triggers fire in name order).
CREATE TRIGGER jobs_budget_instance BEFORE INSERT ON jobs
FOR EACH ROW WHEN (NEW.budget_reserved_usd IS NOT NULL)
EXECUTE FUNCTION budget_instance_of();

CREATE OR REPLACE FUNCTION budget_reserve() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    budget NUMERIC;
    month_row budget_months%ROWTYPE;
    instance_budget NUMERIC;
    instance_month instance_budget_months%ROWTYPE;
    from_project BOOLEAN := false;
BEGIN
    SELECT monthly_usd INTO budget FROM budgets WHERE project_id = NEW.project_id;
    IF FOUND THEN
        INSERT INTO budget_months (project_id, month) VALUES (NEW.project_id, NEW.budget_month)
        ON CONFLICT DO NOTHING;
        UPDATE budget_months SET reserved_usd = reserved_usd + NEW.budget_reserved_usd
        WHERE project_id = NEW.project_id AND month = NEW.budget_month
          AND spent_usd + reserved_usd + NEW.budget_reserved_usd <= budget;
        IF NOT FOUND THEN
            IF TG_WHEN = 'BEFORE' THEN
                RETURN NULL;
            END IF;
            SELECT * INTO month_row FROM budget_months
            WHERE project_id = NEW.project_id AND month = NEW.budget_month;
            RAISE EXCEPTION 'budget_exceeded' USING ERRCODE = 'DE402',
                DETAIL = jsonb_build_object('scope', 'project', 'budget_usd', budget,
                                            'spent_usd', month_row.spent_usd,
                                            'reserved_usd', month_row.reserved_usd,
                                            'required_usd', NEW.budget_reserved_usd,
                                            'month', NEW.budget_month)::text;
        END IF;
        from_project := true;
    END IF;

    IF NEW.budget_instance_id IS NOT NULL THEN
        SELECT monthly_usd INTO instance_budget FROM instance_budgets WHERE instance_id = NEW.budget_instance_id;
        -- Removed since the row was stamped: reserve anyway, so settling stays exact.
        instance_budget := COALESCE(instance_budget, 'Infinity');
        INSERT INTO instance_budget_months (instance_id, month) VALUES (NEW.budget_instance_id, NEW.budget_month)
        ON CONFLICT DO NOTHING;
        UPDATE instance_budget_months SET reserved_usd = reserved_usd + NEW.budget_reserved_usd
        WHERE instance_id = NEW.budget_instance_id AND month = NEW.budget_month
          AND spent_usd + reserved_usd + NEW.budget_reserved_usd <= instance_budget;
        IF NOT FOUND THEN
            IF TG_WHEN = 'BEFORE' THEN
                -- The row is skipped: give back what it took from its project.
                IF from_project THEN
                    UPDATE budget_months SET reserved_usd = reserved_usd - NEW.budget_reserved_usd
                    WHERE project_id = NEW.project_id AND month = NEW.budget_month;
                END IF;
                RETURN NULL;
            END IF;
            SELECT * INTO instance_month FROM instance_budget_months
            WHERE instance_id = NEW.budget_instance_id AND month = NEW.budget_month;
            RAISE EXCEPTION 'budget_exceeded' USING ERRCODE = 'DE402',
                DETAIL = jsonb_build_object('scope', 'instance', 'instance', NEW.budget_instance_id,
                                            'budget_usd', instance_budget,
                                            'spent_usd', instance_month.spent_usd,
                                            'reserved_usd', instance_month.reserved_usd,
                                            'required_usd', NEW.budget_reserved_usd,
                                            'month', NEW.budget_month)::text;
        END IF;
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION budget_settle() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_final BOOLEAN := OLD.status IN ('succeeded', 'failed', 'canceled');
    cost NUMERIC := COALESCE((NEW.metrics->>'cost_usd')::numeric, 0);
    before NUMERIC := COALESCE((OLD.metrics->>'cost_usd')::numeric, 0);
    spent NUMERIC := CASE WHEN was_final THEN cost - before ELSE cost END;
    released NUMERIC := CASE WHEN was_final THEN 0 ELSE NEW.budget_reserved_usd END;
BEGIN
    UPDATE budget_months SET spent_usd = spent_usd + spent, reserved_usd = reserved_usd - released
    WHERE project_id = NEW.project_id AND month = NEW.budget_month;
    IF NEW.budget_instance_id IS NOT NULL THEN
        UPDATE instance_budget_months SET spent_usd = spent_usd + spent, reserved_usd = reserved_usd - released
        WHERE instance_id = NEW.budget_instance_id AND month = NEW.budget_month;
    END IF;
    RETURN NULL;
END $$;

-- A running job's reservation grows before a call that may bill again, if
-- both its months can hold it: 'extended', 'exceeded', or 'not_budgeted'.
CREATE FUNCTION budget_extend(p_job UUID, p_usd NUMERIC) RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    j jobs%ROWTYPE;
    budget NUMERIC;
    instance_budget NUMERIC;
BEGIN
    SELECT * INTO j FROM jobs WHERE id = p_job AND budget_reserved_usd IS NOT NULL;
    IF NOT FOUND THEN
        RETURN 'not_budgeted';
    END IF;
    SELECT monthly_usd INTO budget FROM budgets WHERE project_id = j.project_id;
    IF j.budget_instance_id IS NOT NULL THEN
        SELECT monthly_usd INTO instance_budget FROM instance_budgets WHERE instance_id = j.budget_instance_id;
    END IF;
    IF budget IS NULL AND instance_budget IS NULL THEN
        RETURN 'not_budgeted';
    END IF;
    IF budget IS NOT NULL THEN
        UPDATE budget_months SET reserved_usd = reserved_usd + p_usd
        WHERE project_id = j.project_id AND month = j.budget_month AND spent_usd + reserved_usd + p_usd <= budget;
        IF NOT FOUND THEN
            RETURN 'exceeded';
        END IF;
    END IF;
    IF j.budget_instance_id IS NOT NULL THEN
        UPDATE instance_budget_months SET reserved_usd = reserved_usd + p_usd
        WHERE instance_id = j.budget_instance_id AND month = j.budget_month
          AND spent_usd + reserved_usd + p_usd <= COALESCE(instance_budget, 'Infinity');
        IF NOT FOUND THEN
            -- Raising rolls back to the block's savepoint: the project's part is undone too.
            RAISE EXCEPTION 'budget_exceeded' USING ERRCODE = 'DE402';
        END IF;
    END IF;
    UPDATE jobs SET budget_reserved_usd = budget_reserved_usd + p_usd WHERE id = p_job;
    RETURN 'extended';
EXCEPTION WHEN SQLSTATE 'DE402' THEN
    RETURN 'exceeded';
END $$;

-- Producers keep which projects have a budget, their instance's included.
CREATE FUNCTION instance_budgets_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('de_budgets', 'instance:' || COALESCE(NEW.instance_id, OLD.instance_id));
    RETURN NULL;
END $$;

CREATE TRIGGER instance_budgets_changed AFTER INSERT OR UPDATE OR DELETE ON instance_budgets
FOR EACH ROW EXECUTE FUNCTION instance_budgets_changed();

CREATE FUNCTION project_budget_instance_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM instance_budgets
               WHERE instance_id = NEW.instance_id OR (TG_OP = 'UPDATE' AND instance_id = OLD.instance_id)) THEN
        PERFORM pg_notify('de_budgets', NEW.id::text);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER projects_budget_instance_changed AFTER INSERT OR UPDATE OF instance_id ON projects
FOR EACH ROW EXECUTE FUNCTION project_budget_instance_changed();
