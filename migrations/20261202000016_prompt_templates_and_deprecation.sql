-- Prompt templates of text models (issue 13), and when a model was
-- deprecated. A template is a system prompt, a wrapper
-- around the user's prompt and default settings (domain/src/prompt_template.rs),
-- applied by the worker. What a job's request took from its model's template
-- is recorded in its `metrics.prompt_template`, and feedback is summarised
-- per template name.
ALTER TABLE models ADD COLUMN prompt_template JSONB;

-- Copied from the job's metrics when the feedback is given, so summaries need no join.
ALTER TABLE job_feedback ADD COLUMN prompt_template TEXT;
CREATE INDEX job_feedback_by_template ON job_feedback (prompt_template, updated_at)
    WHERE prompt_template IS NOT NULL;

-- As in 20261202000013, and a call that applied a prompt template sets the
-- job's `metrics.prompt_template` (the last call's wins) rather than repeating
-- it in every record of `metrics.calls`.
CREATE OR REPLACE FUNCTION job_metrics_with_call(m JSONB, call JSONB) RETURNS JSONB
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN call IS NULL THEN m ELSE m || jsonb_build_object(
        'provider_calls', COALESCE((m->>'provider_calls')::int, 0) + 1,
        'billed_calls', COALESCE((m->>'billed_calls')::int, 0)
                        + CASE WHEN (call->>'billed')::boolean THEN 1 ELSE 0 END,
        'calls', (SELECT CASE WHEN jsonb_array_length(c) > 50
                              THEN jsonb_path_query_array(c, '$[last - 49 to last]') ELSE c END
                  FROM (SELECT COALESCE(m->'calls', '[]'::jsonb)
                               || jsonb_build_array(call - 'prompt_template') AS c) AS appended))
        || CASE WHEN (call->>'billed')::boolean THEN jsonb_build_object(
            'cost_usd', COALESCE((m->>'cost_usd')::float8, 0) + COALESCE((call->>'cost_usd')::float8, 0),
            'usage', COALESCE(m->'usage', '{}'::jsonb) || COALESCE(
                (SELECT jsonb_object_agg(u.key, COALESCE((m->'usage'->>u.key)::float8, 0) + u.value::text::float8)
                 FROM jsonb_each(call->'usage') AS u
                 WHERE jsonb_typeof(u.value) = 'number'), '{}'::jsonb))
           ELSE '{}'::jsonb END
        || CASE WHEN call ? 'prompt_template'
                THEN jsonb_build_object('prompt_template', call->'prompt_template')
                ELSE '{}'::jsonb END
    END
$$;

-- When a model became deprecated, for the `Deprecation` header (RFC 9745) on
-- its submits: set when the status turns `deprecated`, kept while it stays so.
ALTER TABLE models ADD COLUMN deprecated_at TIMESTAMPTZ;
UPDATE models SET deprecated_at = updated_at WHERE status = 'deprecated';

CREATE FUNCTION model_deprecated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status <> 'deprecated' THEN
        NEW.deprecated_at := NULL;
    ELSIF TG_OP = 'UPDATE' AND OLD.status = 'deprecated' THEN
        NEW.deprecated_at := COALESCE(OLD.deprecated_at, now());
    ELSE
        NEW.deprecated_at := now();
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER models_deprecated_at BEFORE INSERT OR UPDATE ON models
FOR EACH ROW EXECUTE FUNCTION model_deprecated_at();
