-- Fallbacks: the models a job moves to, in order, when its model's provider is
-- exhausted (a 429 beyond the wait budget, repeated server errors, a quota
-- refusal). A model's configuration may name them; a job names its own or
-- takes its model's at submit. jobs.fallbacks holds what is left to try.
ALTER TABLE models ADD COLUMN fallbacks TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE jobs ADD COLUMN fallbacks TEXT[] NOT NULL DEFAULT '{}';
