-- The dashboard's sessions (tower-sessions' PostgreSQL store, pointed at
-- this table). Created here rather than by the store at start, so that
-- processes starting at once do not race to create it. On SQLite the store
-- creates its own `tower_sessions` table.
CREATE TABLE tower_sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    data        BYTEA NOT NULL,
    expiry_date TIMESTAMPTZ NOT NULL
);
CREATE INDEX tower_sessions_expiry ON tower_sessions (expiry_date);
