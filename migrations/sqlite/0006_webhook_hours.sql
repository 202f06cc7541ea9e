-- Per webhook and hour: how many deliveries finished, succeeded or not, by
-- the duration of their final attempt. The Webhooks list's 24 h success rate
-- and a webhook's 24 h chart read these few rows instead of counting the
-- day's deliveries one by one (millions on a busy day).
--
-- `bucket` keeps two significant digits of the duration in ms: 0–99 as is,
-- then digits * 100 + the first two digits (134 ms → 313, meaning 130–139;
-- 2,345 ms → 423, meaning 2,300–2,399); -1 when there was no attempt.
CREATE TABLE webhook_hours (
    webhook_id TEXT    NOT NULL,
    hour       INTEGER NOT NULL,  -- start of the UTC hour it finished in, ms
    succeeded  INTEGER NOT NULL,  -- 1 succeeded, 0 failed or dropped
    bucket     INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (webhook_id, hour, succeeded, bucket)
) WITHOUT ROWID;
-- Retention deletes old hours with the deliveries they counted.
CREATE INDEX webhook_hours_hour ON webhook_hours (hour);

-- Counted in the transaction that finishes the delivery, whoever writes it.
-- The final attempt's row is written before the delivery's new state.
CREATE TRIGGER deliveries_finished AFTER UPDATE OF status ON deliveries
WHEN OLD.status = 'pending' AND NEW.status IN ('succeeded', 'failed', 'dropped')
BEGIN
    INSERT INTO webhook_hours (webhook_id, hour, succeeded, bucket, count)
    SELECT NEW.webhook_id,
           COALESCE(NEW.finished_at, NEW.created_at) / 3600000 * 3600000,
           NEW.status = 'succeeded',
           CASE WHEN d IS NULL THEN -1
                WHEN d < 100 THEN max(d, 0)
                ELSE length(d) * 100 + CAST(substr(d, 1, 2) AS INTEGER) END,
           1
    FROM (SELECT (SELECT duration_ms FROM attempts WHERE delivery_seq = NEW.seq
                  ORDER BY number DESC LIMIT 1) AS d)
    WHERE true
    ON CONFLICT (webhook_id, hour, succeeded, bucket) DO UPDATE SET count = count + 1;
END;

-- What finished in the last two days before this migration.
INSERT INTO webhook_hours (webhook_id, hour, succeeded, bucket, count)
SELECT webhook_id, hour, succeeded, bucket, count(*)
FROM (
    SELECT webhook_id,
           COALESCE(finished_at, created_at) / 3600000 * 3600000 AS hour,
           status = 'succeeded' AS succeeded,
           CASE WHEN d IS NULL THEN -1
                WHEN d < 100 THEN max(d, 0)
                ELSE length(d) * 100 + CAST(substr(d, 1, 2) AS INTEGER) END AS bucket
    FROM (
        SELECT dl.webhook_id, dl.status, dl.finished_at, dl.created_at,
               (SELECT duration_ms FROM attempts WHERE delivery_seq = dl.seq
                ORDER BY number DESC LIMIT 1) AS d
        FROM deliveries dl
        WHERE dl.status IN ('succeeded', 'failed', 'dropped')
          AND dl.created_at >= (CAST(strftime('%s', 'now') AS INTEGER) - 2 * 86400) * 1000
    )
)
GROUP BY webhook_id, hour, succeeded, bucket;
