-- Bulk replays (issue 25): `POST /projects/{pid}/replay` queues again the
-- deliveries a filter picks, in chunks, paced, from a row that survives a
-- restart. A delivery that has a newer one of the same event to the same
-- webhook is never picked (it was redelivered or replayed already), so a
-- chunk queued just before a crash is not queued twice.
CREATE TABLE replays (
    id          TEXT PRIMARY KEY,                 -- rpl_…
    project_id  TEXT NOT NULL REFERENCES projects (id),
    tenant      TEXT,                             -- a portal's: its tenant's webhooks only
    filter      TEXT NOT NULL,                    -- JSON: since, until, statuses, eventTypes, webhookIds
    max_seq     INTEGER NOT NULL,                 -- deliveries made after it began are not in it
    cursor      INTEGER NOT NULL DEFAULT 0,       -- the seq it has queued up to
    total       INTEGER NOT NULL,                 -- what it counted when it began
    queued      INTEGER NOT NULL DEFAULT 0,
    state       TEXT NOT NULL CHECK (state IN ('running', 'done')),
    owner       TEXT,                             -- the worker running it (its lease says whether it lives)
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER
);
-- One running replay per project (two could pick the same delivery).
CREATE UNIQUE INDEX replays_running ON replays (project_id) WHERE state = 'running';
