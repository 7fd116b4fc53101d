-- The W3C trace context of the request that made the job (set only when traces
-- are exported), so every later step — a relayed or retried publish, a poll, a
-- webhook delivery — joins the submit's trace, not only the first message.
ALTER TABLE jobs ADD COLUMN traceparent TEXT;
