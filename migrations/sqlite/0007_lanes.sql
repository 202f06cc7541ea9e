-- Lanes (issue 11): a webhook's pending deliveries are attempted by the one
-- worker that owns its lane, in `seq` order, from a small window that the
-- worker reads from `deliveries` as it drains. Ownership is per webhook, not
-- per delivery row: a takeover moves a few lanes, whatever the backlog.
CREATE TABLE lanes (
    webhook_id TEXT PRIMARY KEY REFERENCES webhooks (id),
    -- The worker (in `workers`) that attempts this webhook's deliveries; NULL,
    -- or a worker whose lease ran out: anyone may claim it.
    owner      TEXT,
    -- The newest `seq` of this webhook's deliveries, kept by every writer in
    -- the transaction that inserts them: the owner compares it with what it
    -- has read, so that a delivery stored by another process is never skipped.
    last_seq   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX lanes_owner ON lanes (owner);

-- Every webhook with pending deliveries gets a lane that no one owns yet:
-- the first worker to start claims it and reads its deliveries in order.
INSERT INTO lanes (webhook_id, last_seq)
SELECT webhook_id, max(seq) FROM deliveries WHERE status = 'pending' GROUP BY webhook_id;

-- Deliveries are no longer held one by one: `deliveries.lease_owner` is left
-- unused (dropping a column would rewrite the whole table) and its index goes.
DROP INDEX deliveries_claim;
