-- Every modality of the original system: images, speech, stock media and video,
-- with their outputs in object storage.

-- A long-running provider operation (a Shotstack render, a Veo generation) the
-- job is waiting on. The job stays `running` without a lease while the provider
-- works; the scheduler publishes a poll message when `poll_at` comes, and a
-- worker polls once, then sets the next `poll_at` or finishes the job.
ALTER TABLE jobs ADD COLUMN operation JSONB;
ALTER TABLE jobs ADD COLUMN poll_at TIMESTAMPTZ;
-- Counts published poll messages; a message claims the poll only while it is the
-- latest, so copies (a republish, a broker redelivery) cannot poll out of turn.
ALTER TABLE jobs ADD COLUMN poll_seq INTEGER NOT NULL DEFAULT 0;
-- When the job's stored files are deleted (DE_OUTPUT_RETENTION_SECS after it
-- succeeded); NULL once they are, or when there is nothing to delete.
ALTER TABLE jobs ADD COLUMN outputs_expire_at TIMESTAMPTZ;
-- Their indexes are built in the next two migrations, concurrently, so that
-- adding them to a large jobs table does not stop submits and claims.

-- OpenAI images use the `openai` provider (its key and base URL); the model's
-- modality picks the Images API. Gemini image and Veo share the `gemini` provider.
-- For Shotstack the provider model is the API environment: `v1` (production) or
-- `stage` (the sandbox, which takes a different key).
INSERT INTO providers (id, kind, base_url, timeout_ms) VALUES
    ('ideogram',   'ideogram',   'https://api.ideogram.ai',                   120000),
    ('gemini',     'gemini',     'https://generativelanguage.googleapis.com', 120000),
    ('elevenlabs', 'elevenlabs', 'https://api.elevenlabs.io',                 120000),
    ('pexels',     'pexels',     'https://api.pexels.com',                    30000),
    ('shotstack',  'shotstack',  'https://api.shotstack.io/edit',             30000)
ON CONFLICT (id) DO NOTHING;

-- Prices are per million tokens and stay 0 here: these models bill per image,
-- character or second, which metrics do not estimate yet.
INSERT INTO models (id, modality, provider_id, provider_model) VALUES
    ('ideogram-v2',       'image', 'ideogram',   'V_2'),
    ('dall-e-3',          'image', 'openai',     'dall-e-3'),
    ('dall-e-2',          'image', 'openai',     'dall-e-2'),
    ('flash-nano-banana', 'image', 'gemini',     'gemini-2.5-flash-image'),
    ('multilingual-v2',   'audio', 'elevenlabs', 'eleven_multilingual_v2'),
    ('pexels-videos',     'media', 'pexels',     'videos'),
    ('pexels-photos',     'media', 'pexels',     'photos'),
    ('shotstack-render',  'video', 'shotstack',  'v1'),
    ('veo-3.1',           'video', 'gemini',     'veo-3.1-generate-preview')
ON CONFLICT (id) DO NOTHING;

-- Conservative first-tier account limits, as for the text providers; raise them
-- through the admin API once you know your account's. Status polls of long-running
-- operations count against the provider's limit only, never a model's.
INSERT INTO rate_limits (id, provider_id, model_id, requests_per_interval, request_interval_ms,
                         request_burst, max_concurrent) VALUES
    -- Ideogram: 10 requests in flight per account.
    ('ideogram',          'ideogram',   NULL,                60,  60000,   10, 10),
    ('gemini',            'gemini',     NULL,                60,  60000,   10, NULL),
    ('gemini/flash-nano-banana', 'gemini', 'flash-nano-banana', 10, 60000, 2, NULL),
    ('gemini/veo-3.1',    'gemini',     'veo-3.1',           2,   60000,   1, NULL),
    -- DALL·E, usage tier 1: 5 images a minute each.
    ('openai/dall-e-3',   'openai',     'dall-e-3',          5,   60000,   1, NULL),
    ('openai/dall-e-2',   'openai',     'dall-e-2',          5,   60000,   1, NULL),
    -- ElevenLabs meters concurrency: 2 requests at once on the free tier.
    ('elevenlabs',        'elevenlabs', NULL,                120, 60000,   5, 2),
    -- Pexels: 200 requests an hour.
    ('pexels',            'pexels',     NULL,                200, 3600000, 10, NULL),
    ('shotstack',         'shotstack',  NULL,                1,   1000,    5, NULL)
ON CONFLICT (id) DO NOTHING;
