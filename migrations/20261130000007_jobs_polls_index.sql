-- no-transaction
-- Built concurrently (outside a transaction, one statement per file) so submits
-- and claims go on while it builds. What the scheduler's poll publisher scans.
CREATE INDEX CONCURRENTLY IF NOT EXISTS jobs_polls ON jobs (poll_at) WHERE poll_at IS NOT NULL;
