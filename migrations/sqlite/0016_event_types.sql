-- The event catalog (issue 25): per project, the event types the platform
-- publishes, with a description, an optional JSON Schema that publishing
-- checks, and an example payload that test sends use.
CREATE TABLE event_types (
    project_id  TEXT NOT NULL REFERENCES projects (id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    schema      TEXT,          -- a JSON Schema (JSON text), or none
    example     TEXT,          -- an example event (JSON text), or none
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (project_id, name)
);
-- Bumped by every change of the project's catalog: publishing reads it to
-- know whether its compiled schemas are still the project's.
ALTER TABLE projects ADD COLUMN catalog_version INTEGER NOT NULL DEFAULT 0;
