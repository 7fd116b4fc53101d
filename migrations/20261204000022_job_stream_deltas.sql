-- The text of a streaming job as its provider writes it, in the order it came
-- (`seq` orders one job's pieces; it is the event id `GET /v1/jobs/{id}/events`
-- resumes after). `attempt` tells a retried call's text from the one before;
-- an empty piece says the text starts again within the attempt (a JSON answer
-- asked for again).
CREATE TABLE job_stream_deltas (
    seq     BIGSERIAL PRIMARY KEY,
    job_id  UUID NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    text    TEXT NOT NULL
);
CREATE INDEX job_stream_deltas_by_job ON job_stream_deltas (job_id, seq);

-- Tells the producers following a job that it has news: more text, or it
-- started running (for a job somebody follows or waits for; its finish is
-- de_job_finished's).
CREATE FUNCTION notify_job_streamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('de_job_progressed', NEW.job_id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER job_stream_deltas_written AFTER INSERT ON job_stream_deltas
    FOR EACH ROW EXECUTE FUNCTION notify_job_streamed();

CREATE FUNCTION notify_job_started() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('de_job_progressed', NEW.id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_started AFTER UPDATE OF status ON jobs
    FOR EACH ROW
    WHEN (NEW.notify_on_finish AND NEW.status = 'running' AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION notify_job_started();
