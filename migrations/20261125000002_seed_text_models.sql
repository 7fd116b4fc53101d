-- The text models of the original system. Limits are conservative first-tier
-- account limits so a fresh deployment cannot get an account throttled; raise
-- them per account (UPDATE token_buckets) once you know your tier.
INSERT INTO providers (id, kind, base_url, timeout_ms) VALUES
    ('openai',    'openai_chat',        'https://api.openai.com',    120000),
    ('anthropic', 'anthropic_messages', 'https://api.anthropic.com', 120000);

INSERT INTO token_buckets (provider_id, capacity, refill_per_sec, tokens) VALUES
    ('openai',    20, 8.0, 20),   -- 500 requests/minute
    ('anthropic', 10, 0.8, 10);   -- 50 requests/minute

INSERT INTO models (id, modality, provider_id, provider_model, default_max_tokens,
                    max_output_tokens, input_usd_per_mtok, output_usd_per_mtok) VALUES
    ('claude-3.5-sonnet', 'text', 'anthropic', 'claude-3-5-sonnet-20241022', 1024, 8192, 3.00, 15.00),
    ('claude-3.5-haiku',  'text', 'anthropic', 'claude-3-5-haiku-20241022',  1024, 8192, 0.80,  4.00),
    ('gpt-4o',            'text', 'openai',    'gpt-4o',                     1024, 16384, 2.50, 10.00),
    ('gpt-4o-mini',       'text', 'openai',    'gpt-4o-mini',                1024, 16384, 0.15,  0.60);
