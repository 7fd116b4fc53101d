-- no-transaction
-- Built concurrently, as the one before. What output retention scans.
CREATE INDEX CONCURRENTLY IF NOT EXISTS jobs_output_expiry ON jobs (outputs_expire_at)
    WHERE outputs_expire_at IS NOT NULL;
