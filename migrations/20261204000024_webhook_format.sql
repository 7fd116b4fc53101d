-- How a job's webhooks draw it: 'prediction' (a Replicate prediction, for the
-- jobs the Replicate-compatible API makes) or, NULL, the job itself.
ALTER TABLE jobs ADD COLUMN webhook_format TEXT CHECK (webhook_format IN ('prediction'));
