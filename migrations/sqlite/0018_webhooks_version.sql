-- A project's webhooks version (issue 25): publishing keeps each project's
-- enabled webhooks in memory and reads this one number to know whether
-- they are still the project's. Bumped by any change that alters where an
-- event goes or how fast: a new webhook, its state, filter, tenant or pace
-- (not its failure counters, which change with every delivery).
ALTER TABLE projects ADD COLUMN webhooks_version INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER webhooks_version_insert AFTER INSERT ON webhooks
BEGIN
    UPDATE projects SET webhooks_version = webhooks_version + 1 WHERE id = NEW.project_id;
END;

CREATE TRIGGER webhooks_version_update
AFTER UPDATE OF enabled, events, deleted_at, tenant, purpose, ordering, ordering_key,
                max_concurrency, rate_limit, updated_at ON webhooks
BEGIN
    UPDATE projects SET webhooks_version = webhooks_version + 1 WHERE id = NEW.project_id;
END;
