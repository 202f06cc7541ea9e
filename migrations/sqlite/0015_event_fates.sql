-- Where each event went (issue 25). How an event came in: 'api' (POST
-- /events), 'batch' (/events/batch), 'test' (a test send) or 'alert'
-- (Signpost's own, to an alert URL).
ALTER TABLE events ADD COLUMN source TEXT NOT NULL DEFAULT 'api'
    CHECK (source IN ('api', 'batch', 'test', 'alert'));
-- The Events page: a project's events, newest first.
CREATE INDEX events_project ON events (project_id, id);

-- Each webhook's state over time: a row each time it is created, enabled,
-- disabled (by a person or automatically), deleted, or its filter changes,
-- written by the triggers below whatever code made the change. An event's
-- page reads, for each webhook, the row in force when the event came in,
-- and from it why the event did not go there: no row per event is written
-- (docs/decisions.md, "Where an event did not go").
CREATE TABLE webhook_states (
    seq        INTEGER PRIMARY KEY,
    webhook_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    at         INTEGER NOT NULL,    -- from when: the webhook's updated_at
    state      TEXT NOT NULL CHECK (state IN ('enabled', 'disabled', 'auto_disabled', 'deleted')),
    events     TEXT NOT NULL,       -- its filter then (JSON array of names)
    tenant     TEXT,
    disabled_reason TEXT            -- why Signpost disabled it
);
CREATE INDEX webhook_states_project ON webhook_states (project_id, at);

CREATE TRIGGER webhook_states_insert AFTER INSERT ON webhooks
WHEN NEW.purpose = 'events'
BEGIN
    INSERT INTO webhook_states (webhook_id, project_id, at, state, events, tenant, disabled_reason)
    VALUES (NEW.id, NEW.project_id, NEW.updated_at,
            CASE WHEN NEW.deleted_at IS NOT NULL THEN 'deleted'
                 WHEN NEW.enabled THEN 'enabled'
                 WHEN NEW.disabled_reason IS NOT NULL THEN 'auto_disabled'
                 ELSE 'disabled' END,
            NEW.events, NEW.tenant, NEW.disabled_reason);
END;

CREATE TRIGGER webhook_states_update AFTER UPDATE ON webhooks
WHEN NEW.purpose = 'events' AND (
    OLD.enabled IS NOT NEW.enabled OR OLD.events IS NOT NEW.events
    OR OLD.deleted_at IS NOT NEW.deleted_at OR OLD.disabled_reason IS NOT NEW.disabled_reason
    OR OLD.tenant IS NOT NEW.tenant)
BEGIN
    INSERT INTO webhook_states (webhook_id, project_id, at, state, events, tenant, disabled_reason)
    VALUES (NEW.id, NEW.project_id, NEW.updated_at,
            CASE WHEN NEW.deleted_at IS NOT NULL THEN 'deleted'
                 WHEN NEW.enabled THEN 'enabled'
                 WHEN NEW.disabled_reason IS NOT NULL THEN 'auto_disabled'
                 ELSE 'disabled' END,
            NEW.events, NEW.tenant, NEW.disabled_reason);
END;

-- The webhooks there are now, as of their last change: what came before is
-- not known, so an older event shows no reason for them.
INSERT INTO webhook_states (webhook_id, project_id, at, state, events, tenant, disabled_reason)
SELECT id, project_id, updated_at,
       CASE WHEN deleted_at IS NOT NULL THEN 'deleted'
            WHEN enabled THEN 'enabled'
            WHEN disabled_reason IS NOT NULL THEN 'auto_disabled'
            ELSE 'disabled' END,
       events, tenant, disabled_reason
FROM webhooks WHERE purpose = 'events' ORDER BY updated_at;
