-- The generic HTTP provider (issue 13): a provider of kind `http` is any
-- HTTP API, and each of its models says how it is called — a request template
-- with typed placeholders, JSON pointers to the output, usage and error
-- message, and optionally how to poll an operation until it is done
-- (domain/src/http_mapping/). Checked by the admin API when saved; a model of
-- an `http` provider without one is left out of the catalog.
ALTER TABLE models ADD COLUMN http_mapping JSONB;
