-- Webhooks: registered URLs of a project. Delete is soft (deleted_at).
CREATE TABLE webhooks (
    id                  TEXT PRIMARY KEY,          -- UUID v4
    project_id          TEXT NOT NULL REFERENCES projects (id),
    url                 TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    events              TEXT NOT NULL DEFAULT '["*"]', -- JSON array of event names
    enabled             INTEGER NOT NULL DEFAULT 1,
    scheme              TEXT NOT NULL CHECK (scheme IN ('spectrum-v0', 'standard-webhooks')),
    -- Signing secrets, sealed with the server's key (nonce || ciphertext).
    secret              BLOB NOT NULL,
    -- During a rotation's grace period: the secret being replaced, and when it stops.
    previous_secret     BLOB,
    previous_expires_at INTEGER,
    disabled_reason     TEXT,                      -- set when disabled automatically
    disabled_at         INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    deleted_at          INTEGER
);
-- One active webhook per URL per project; listing is oldest first.
CREATE UNIQUE INDEX webhooks_active_url ON webhooks (project_id, url) WHERE deleted_at IS NULL;
CREATE INDEX webhooks_project_created ON webhooks (project_id, created_at) WHERE deleted_at IS NULL;
