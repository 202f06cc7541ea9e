-- Where each event went (issue 25). How an event came in: 'api' (POST
-- /events), 'batch' (/events/batch), 'test' (a test send) or 'alert'
-- (Signpost's own, to an alert URL).
ALTER TABLE events ADD COLUMN source TEXT NOT NULL DEFAULT 'api'
    CHECK (source IN ('api', 'batch', 'test', 'alert'));
-- The Events page: a project's events, newest first.
CREATE INDEX events_project ON events (project_id, id);

-- Each webhook's state over time: a row each time it is created, enabled,
-- disabled (by a person or automatically), deleted, or its filter changes,
-- written by the trigger below whatever code made the change. An event's
-- page reads, for each webhook, the row in force when the event came in,
-- and from it why the event did not go there: no row per event is written
-- (docs/decisions.md, "Where an event did not go").
CREATE TABLE webhook_states (
    seq             BIGSERIAL PRIMARY KEY,
    webhook_id      TEXT NOT NULL,
    project_id      TEXT NOT NULL,
    at              BIGINT NOT NULL,   -- from when: the webhook's updated_at
    state           TEXT NOT NULL CHECK (state IN ('enabled', 'disabled', 'auto_disabled', 'deleted')),
    events          TEXT NOT NULL,     -- its filter then (JSON array of names)
    tenant          TEXT,
    disabled_reason TEXT               -- why Signpost disabled it
);
CREATE INDEX webhook_states_project ON webhook_states (project_id, at);

CREATE FUNCTION webhook_state_of(w webhooks) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN w.deleted_at IS NOT NULL THEN 'deleted'
                WHEN w.enabled THEN 'enabled'
                WHEN w.disabled_reason IS NOT NULL THEN 'auto_disabled'
                ELSE 'disabled' END
$$;

CREATE FUNCTION webhook_state_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.purpose = 'events' AND (TG_OP = 'INSERT'
        OR OLD.enabled IS DISTINCT FROM NEW.enabled OR OLD.events IS DISTINCT FROM NEW.events
        OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at
        OR OLD.disabled_reason IS DISTINCT FROM NEW.disabled_reason
        OR OLD.tenant IS DISTINCT FROM NEW.tenant) THEN
        INSERT INTO webhook_states (webhook_id, project_id, at, state, events, tenant, disabled_reason)
        VALUES (NEW.id, NEW.project_id, NEW.updated_at, webhook_state_of(NEW), NEW.events,
                NEW.tenant, NEW.disabled_reason);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER webhook_states AFTER INSERT OR UPDATE ON webhooks
    FOR EACH ROW EXECUTE FUNCTION webhook_state_changed();

-- The webhooks there are now, as of their last change: what came before is
-- not known, so an older event shows no reason for them.
INSERT INTO webhook_states (webhook_id, project_id, at, state, events, tenant, disabled_reason)
SELECT w.id, w.project_id, w.updated_at, webhook_state_of(w), w.events, w.tenant, w.disabled_reason
FROM webhooks w WHERE w.purpose = 'events' ORDER BY w.updated_at;
