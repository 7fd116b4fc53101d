-- What each model costs, in every unit a provider bills (domain/src/pricing.rs):
-- tokens, images by size and quality, characters, seconds of video, requests.
-- It replaces the two per-token columns, which stay (no longer read) for the
-- processes of the previous release during a rolling upgrade.
ALTER TABLE models ADD COLUMN pricing JSONB NOT NULL DEFAULT '{}';

UPDATE models SET pricing = jsonb_build_object('input_usd_per_mtok', input_usd_per_mtok,
                                               'output_usd_per_mtok', output_usd_per_mtok)
WHERE modality = 'text';

-- List prices at the time of writing; set your account's through the admin API.
-- usd_per_image is the price of the API's default image (and of any size and
-- quality no entry names); an entry names a size, a quality or both, and a job
-- that leaves one to the provider matches only entries that leave it out too.
UPDATE models SET pricing = '{"usd_per_image": 0.04, "image_prices": [
        {"size": "1024x1792", "usd": 0.08},
        {"size": "1792x1024", "usd": 0.08},
        {"quality": "hd", "usd": 0.08},
        {"size": "1024x1792", "quality": "hd", "usd": 0.12},
        {"size": "1792x1024", "quality": "hd", "usd": 0.12}]}'
WHERE id = 'dall-e-3';
UPDATE models SET pricing = '{"usd_per_image": 0.02, "image_prices": [
        {"size": "512x512", "usd": 0.018}, {"size": "256x256", "usd": 0.016}]}'
WHERE id = 'dall-e-2';
UPDATE models SET pricing = '{"usd_per_image": 0.08}' WHERE id = 'ideogram-v2';
UPDATE models SET pricing = '{"usd_per_image": 0.039}' WHERE id = 'flash-nano-banana';
UPDATE models SET pricing = '{"usd_per_1k_characters": 0.30}' WHERE id = 'multilingual-v2';
-- Pexels is free: priced at 0, so budgeted projects may search it.
UPDATE models SET pricing = '{"usd_per_request": 0}' WHERE id IN ('pexels-videos', 'pexels-photos');
UPDATE models SET pricing = '{"usd_per_second": 0.005}' WHERE id = 'shotstack-render';
UPDATE models SET pricing = '{"usd_per_second": 0.40}' WHERE id = 'veo-3.1';

-- A job's metrics add up what its billed calls used and cost: `usage` sums the
-- numeric fields of each billed call's usage, `cost_usd` their costs. Calls not
-- billed add nothing. (The list of calls keeps the last 50; these totals keep all.)
CREATE OR REPLACE FUNCTION job_metrics_with_call(m JSONB, call JSONB) RETURNS JSONB
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN call IS NULL THEN m ELSE m || jsonb_build_object(
        'provider_calls', COALESCE((m->>'provider_calls')::int, 0) + 1,
        'billed_calls', COALESCE((m->>'billed_calls')::int, 0)
                        + CASE WHEN (call->>'billed')::boolean THEN 1 ELSE 0 END,
        'calls', (SELECT CASE WHEN jsonb_array_length(c) > 50
                              THEN jsonb_path_query_array(c, '$[last - 49 to last]') ELSE c END
                  FROM (SELECT COALESCE(m->'calls', '[]'::jsonb) || jsonb_build_array(call) AS c) AS appended))
        || CASE WHEN (call->>'billed')::boolean THEN jsonb_build_object(
            'cost_usd', COALESCE((m->>'cost_usd')::float8, 0) + COALESCE((call->>'cost_usd')::float8, 0),
            'usage', COALESCE(m->'usage', '{}'::jsonb) || COALESCE(
                (SELECT jsonb_object_agg(u.key, COALESCE((m->'usage'->>u.key)::float8, 0) + u.value::text::float8)
                 FROM jsonb_each(call->'usage') AS u
                 WHERE jsonb_typeof(u.value) = 'number'), '{}'::jsonb))
           ELSE '{}'::jsonb END
    END
$$;
