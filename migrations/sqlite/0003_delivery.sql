-- The delivery engine (DESIGN §2, §3): events, one delivery per matching
-- webhook, and every attempt.

-- Per webhook: delivery order, and the run of failures that auto-disable watches.
ALTER TABLE webhooks ADD COLUMN ordering TEXT NOT NULL DEFAULT 'ordered'
    CHECK (ordering IN ('ordered', 'unordered'));
ALTER TABLE webhooks ADD COLUMN failing_since INTEGER;            -- first failure since the last success
ALTER TABLE webhooks ADD COLUMN failed_deliveries INTEGER NOT NULL DEFAULT 0;

-- What the platform published: the exact bytes, as received.
CREATE TABLE events (
    id         TEXT PRIMARY KEY,                  -- evt_…
    project_id TEXT NOT NULL REFERENCES projects (id),
    event      TEXT NOT NULL,                     -- the body's "event" field
    body       BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX events_created ON events (created_at);

-- One event to one webhook. `seq` is the insertion order, which is event
-- order: per webhook, deliveries are attempted in `seq` order.
CREATE TABLE deliveries (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,             -- dlv_…
    project_id  TEXT NOT NULL,
    event_id    TEXT NOT NULL REFERENCES events (id),
    webhook_id  TEXT NOT NULL REFERENCES webhooks (id),
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'succeeded', 'failed', 'dropped', 'cancelled')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,                 -- when the next attempt is due
    -- The worker that holds this delivery; its lease is in `workers`.
    lease_owner TEXT,
    last_status INTEGER,                          -- HTTP status of the last attempt
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER
);
-- Claiming: pending deliveries without a live owner, oldest first.
CREATE INDEX deliveries_claim ON deliveries (lease_owner, seq) WHERE status = 'pending';
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, seq);
-- A new delivery to an ordered webhook joins the holder of its newest pending one.
CREATE INDEX deliveries_pending_webhook ON deliveries (webhook_id, seq) WHERE status = 'pending';
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_created ON deliveries (created_at);

-- Every HTTP attempt (or the reason there was none).
CREATE TABLE attempts (
    id               INTEGER PRIMARY KEY,
    delivery_seq     INTEGER NOT NULL REFERENCES deliveries (seq),
    number           INTEGER NOT NULL,            -- 1-based
    started_at       INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    request_headers  TEXT NOT NULL,               -- JSON [[name, value], …]
    response_status  INTEGER,
    response_headers TEXT,
    response_body    BLOB,                        -- the first 4 KiB
    error_kind       TEXT,                        -- timeout, connect, guard, …
    error_message    TEXT
);
CREATE INDEX attempts_delivery ON attempts (delivery_seq, number);

-- Workers alive: a worker's lease on the deliveries it holds ends at
-- `lease_until` unless its heartbeat pushes it back.
CREATE TABLE workers (
    id          TEXT PRIMARY KEY,
    started_at  INTEGER NOT NULL,
    lease_until INTEGER NOT NULL
);

-- Ingest idempotency: the first answer to a key, kept 24 h.
CREATE TABLE idempotency_keys (
    project_id TEXT NOT NULL,
    key        TEXT NOT NULL,
    response   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, key)
);
CREATE INDEX idempotency_created ON idempotency_keys (created_at);
