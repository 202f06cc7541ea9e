-- One-time sign-in links: an invitation to a new teammate, or a password
-- reset. Only the SHA-256 of the token is stored; a link works once, until
-- it expires, and a newer link for the same user replaces it.
CREATE TABLE sign_in_links (
    token_hash BLOB PRIMARY KEY,                   -- SHA-256 of the 32-byte token
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('invite', 'reset')),
    created_by TEXT,                               -- user id; NULL from the command line
    created_at INTEGER NOT NULL,                   -- Unix milliseconds
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX sign_in_links_user ON sign_in_links (user_id);

-- The append-only record of who changed what. `project_id` is NULL for
-- changes to the team itself. The actor's email is copied so the record
-- still reads right after the actor is removed; NULL actor = Signpost itself
-- or the command line.
CREATE TABLE activity (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,                  -- Unix milliseconds
    project_id  TEXT,
    actor_id    TEXT,
    actor_email TEXT,
    action      TEXT NOT NULL,                     -- e.g. 'user.added'
    subject     TEXT NOT NULL,                     -- what it acted on, as shown
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX activity_project ON activity (project_id, id);
