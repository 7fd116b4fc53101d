-- A job somebody follows (GET /v1/jobs/{id}/events, or one that streams) has
-- its start told on de_job_progressed; a job a request only waits for
-- (Prefer: wait) needs its finish alone, so its start costs no NOTIFY.
ALTER TABLE jobs ADD COLUMN followed BOOLEAN NOT NULL DEFAULT false;

DROP TRIGGER jobs_started ON jobs;
CREATE TRIGGER jobs_started AFTER UPDATE OF status ON jobs
    FOR EACH ROW
    WHEN (NEW.followed AND NEW.status = 'running' AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION notify_job_started();
