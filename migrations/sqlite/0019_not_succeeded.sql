-- Fewer index writes per delivery (issue 26). A delivery's status moved
-- through three indexes on every finish: the engine's partial index of
-- pending deliveries and the log's (project_id, status, seq) and
-- (webhook_id, status, seq). Most deliveries succeed, and a succeeded one
-- is never looked up by its status: the log shows "succeeded" by walking
-- `deliveries_project` or `deliveries_webhook` in `seq` order, where
-- nearly every row matches. The others (pending, failed, dropped,
-- cancelled) stay in two partial indexes, which the engine and the log's
-- status filters both read. A delivery that succeeds now leaves two
-- indexes instead of moving through three.
--
-- SQLite uses a partial index only when the query repeats its condition:
-- every query that reads these says `status <> 'succeeded'` in so many
-- words (`db::deliveries::NOT_SUCCEEDED`).
DROP INDEX deliveries_project_status;
DROP INDEX deliveries_webhook_status;
DROP INDEX deliveries_pending_webhook;
CREATE INDEX deliveries_project_not_succeeded ON deliveries (project_id, status, seq)
    WHERE status <> 'succeeded';
-- `ordering_key` last: the engine's windows skip held-back keys from the
-- index alone.
CREATE INDEX deliveries_webhook_not_succeeded ON deliveries (webhook_id, status, seq, ordering_key)
    WHERE status <> 'succeeded';
