-- Access per project and a read-only role (issue 24).

-- Which projects a member or viewer may reach (admins reach every one).
CREATE TABLE project_access (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, project_id)
);
CREATE INDEX project_access_project ON project_access (project_id);

-- Members keep every project that exists today.
INSERT INTO project_access (user_id, project_id)
    SELECT u.id, p.id FROM users u CROSS JOIN projects p WHERE u.role <> 'admin';

-- The role `viewer`: SQLite changes a CHECK only by making the table again.
-- Dropping `users` deletes its sign-in links (ON DELETE CASCADE): they are
-- kept aside and put back.
CREATE TEMP TABLE kept_links AS SELECT * FROM sign_in_links;
CREATE TABLE users_new (
    id              TEXT PRIMARY KEY,              -- UUID v4
    email           TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,                 -- argon2id PHC string
    role            TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    -- Bumped to end every session of the user (password change, removal).
    session_epoch   INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,              -- Unix milliseconds
    last_sign_in_at INTEGER
);
INSERT INTO users_new (id, email, password_hash, role, session_epoch, created_at, last_sign_in_at)
    SELECT id, email, password_hash, role, session_epoch, created_at, last_sign_in_at FROM users;
CREATE TEMP TABLE kept_access AS SELECT * FROM project_access;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
INSERT INTO sign_in_links SELECT * FROM kept_links;
INSERT INTO project_access SELECT * FROM kept_access;
DROP TABLE kept_links;
DROP TABLE kept_access;
