-- Every output is paid for once (invariant 8).
--
-- A provider's billed answer whose outputs are still to be copied into storage
-- (links, inline bytes, ids, revised prompts, an operation's result), committed
-- before the copy starts. While it is set the job stays `running`: a failed copy
-- waits for its next try leaseless with a `poll_at`, as an operation does, and a
-- worker that dies copying leaves an expired lease that the scheduler turns into
-- another copy, never another generation. Cleared when the job succeeds.
ALTER TABLE jobs ADD COLUMN answer JSONB;

-- A 2xx the provider billed but DE could not use is not retried unless the model
-- says so; an output the provider no longer has (404/410, expired) fails the job
-- unless the model (or the job's input) asks for it to be generated again.
ALTER TABLE models ADD COLUMN retry_unusable_answers BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE models ADD COLUMN regenerate_unavailable_outputs BOOLEAN NOT NULL DEFAULT false;

-- `metrics` with one more provider call (crate::call_record): counted in
-- `provider_calls`, in `billed_calls` when the provider answered 2xx, and
-- appended to `calls`, which keeps the latest 50 (a long 429 storm defers a job
-- many times; the counts still cover every call). The one place the counts are
-- kept, so every statement that commits a job's next state after a call keeps
-- them alike. NULL = no call.
CREATE FUNCTION job_metrics_with_call(m JSONB, call JSONB) RETURNS JSONB
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN call IS NULL THEN m ELSE m || jsonb_build_object(
        'provider_calls', COALESCE((m->>'provider_calls')::int, 0) + 1,
        'billed_calls', COALESCE((m->>'billed_calls')::int, 0)
                        + CASE WHEN (call->>'billed')::boolean THEN 1 ELSE 0 END,
        'calls', (SELECT CASE WHEN jsonb_array_length(c) > 50
                              THEN jsonb_path_query_array(c, '$[last - 49 to last]') ELSE c END
                  FROM (SELECT COALESCE(m->'calls', '[]'::jsonb) || jsonb_build_array(call) AS c) AS appended))
    END
$$;
