-- Ordering keys, per-webhook concurrency and rate limits (issue 22).

-- A webhook's ordering key: a JSON Pointer (RFC 6901) into each event, such
-- as /space/id; NULL: none (the whole webhook keeps one order).
ALTER TABLE webhooks ADD COLUMN ordering_key TEXT;
-- Attempts in flight at once; NULL: the default for its ordering and key.
ALTER TABLE webhooks ADD COLUMN max_concurrency BIGINT
    CHECK (max_concurrency BETWEEN 1 AND 256);
-- Deliveries per second at most; NULL: no limit.
ALTER TABLE webhooks ADD COLUMN rate_limit DOUBLE PRECISION CHECK (rate_limit > 0);

-- Each delivery's key, read from its event with the webhook's pointer when
-- it was queued; '' is the empty key, which every delivery of a webhook
-- without a key has. Deliveries of one key are attempted in `seq` order.
ALTER TABLE deliveries ADD COLUMN ordering_key TEXT NOT NULL DEFAULT '';

-- A window reads past the keys it holds back, from the index alone.
DROP INDEX deliveries_pending_webhook;
CREATE INDEX deliveries_pending_webhook ON deliveries (webhook_id, seq, ordering_key)
    WHERE status = 'pending';
-- The next pending deliveries of one key (the empty key's come from the
-- index above: a webhook without a key pays nothing for this one).
CREATE INDEX deliveries_pending_key ON deliveries (webhook_id, ordering_key, seq)
    WHERE status = 'pending' AND ordering_key <> '';
-- The log filtered by key (deliveries without a key are not in it).
CREATE INDEX deliveries_project_key ON deliveries (project_id, ordering_key, seq)
    WHERE ordering_key <> '';
