-- The delivery log (issue 5): where a delivery came from, and the indexes
-- that keep every page of the log an index range scan, newest first.

-- 'event': made when the event was published; 'redelivery': "Redeliver" by
-- a person or the API; 'replay': "Replay failed since…". A repeat keeps
-- the id of the delivery it repeats; the original is never changed.
ALTER TABLE deliveries ADD COLUMN origin TEXT NOT NULL DEFAULT 'event'
    CHECK (origin IN ('event', 'redelivery', 'replay'));
ALTER TABLE deliveries ADD COLUMN repeats TEXT;

CREATE INDEX deliveries_project ON deliveries (project_id, seq);
CREATE INDEX deliveries_project_status ON deliveries (project_id, status, seq);
CREATE INDEX deliveries_webhook_status ON deliveries (webhook_id, status, seq);
-- Event-name filter: the project's events of one name, newest first.
CREATE INDEX events_project_name ON events (project_id, event, id);
