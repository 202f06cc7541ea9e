-- A project's alert URL (issue 24): a webhook of its own, signed, retried
-- and logged like any other, but never listed with the project's webhooks
-- nor sent its events; it gets Signpost's `signpost.webhook.*` events.
ALTER TABLE webhooks ADD COLUMN purpose TEXT NOT NULL DEFAULT 'events'
    CHECK (purpose IN ('events', 'alerts'));
-- How the alerts are written: Signpost's JSON events, or a Slack message.
ALTER TABLE projects ADD COLUMN alert_format TEXT NOT NULL DEFAULT 'signpost'
    CHECK (alert_format IN ('signpost', 'slack'));

DROP INDEX webhooks_active_url;
CREATE UNIQUE INDEX webhooks_active_url ON webhooks (project_id, coalesce(tenant, ''), purpose, url)
    WHERE deleted_at IS NULL;
-- One alert URL per project.
CREATE UNIQUE INDEX webhooks_alerts ON webhooks (project_id)
    WHERE purpose = 'alerts' AND deleted_at IS NULL;
