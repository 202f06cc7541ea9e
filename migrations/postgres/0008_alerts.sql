-- Alerts that reach people (issue 24).

-- One row per episode: a webhook auto-disabled, failing every delivery, or
-- behind; opened once, closed when it recovers. At most one open row per
-- webhook and kind, so every process may look and only one opens it.
CREATE TABLE alerts (
    id         BIGSERIAL PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    webhook_id TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('disabled', 'failing', 'lagging')),
    detail     TEXT NOT NULL DEFAULT '',
    opened_at  BIGINT NOT NULL,
    closed_at  BIGINT
);
CREATE UNIQUE INDEX alerts_open ON alerts (webhook_id, kind) WHERE closed_at IS NULL;
CREATE INDEX alerts_project ON alerts (project_id, opened_at);

-- Emails waiting to be sent (and sent): retried with a growing pause, so
-- that a mail server that is down delays them and blocks nothing else.
CREATE TABLE alert_emails (
    id         BIGSERIAL PRIMARY KEY,
    to_address TEXT NOT NULL,
    subject    TEXT NOT NULL,
    text_body  TEXT NOT NULL,
    html_body  TEXT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    next_at    BIGINT NOT NULL,
    sent_at    BIGINT,
    last_error TEXT
);
CREATE INDEX alert_emails_due ON alert_emails (next_at) WHERE sent_at IS NULL;

-- Whether a teammate gets alert emails (their Account page).
ALTER TABLE users ADD COLUMN alert_emails BOOLEAN NOT NULL DEFAULT TRUE;
