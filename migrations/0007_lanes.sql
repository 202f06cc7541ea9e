-- Lanes (issue 11): a webhook's pending deliveries are attempted by the one
-- worker that owns its lane, in `seq` order, from a small window that the
-- worker reads from `deliveries` as it drains. Ownership is per webhook, not
-- per delivery row: a takeover moves a few lanes, whatever the backlog.
CREATE TABLE lanes (
    webhook_id TEXT PRIMARY KEY REFERENCES webhooks (id),
    -- The worker (in `workers`) that attempts this webhook's deliveries; NULL,
    -- or a worker whose lease ran out: anyone may claim it.
    owner      TEXT
) WITHOUT ROWID;
CREATE INDEX lanes_owner ON lanes (owner);

-- Every webhook with pending deliveries gets a lane that no one owns yet:
-- the first worker to start claims it and reads its deliveries in order.
INSERT INTO lanes (webhook_id)
SELECT DISTINCT webhook_id FROM deliveries WHERE status = 'pending';

-- Deliveries are no longer held one by one: `deliveries.lease_owner` is left
-- unused (dropping a column would rewrite the whole table) and its index goes.
DROP INDEX deliveries_claim;
