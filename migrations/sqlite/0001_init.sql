-- Dashboard users. Emails are stored lower-cased.
CREATE TABLE users (
    id              TEXT PRIMARY KEY,              -- UUID v4
    email           TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,                 -- argon2id PHC string
    role            TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    -- Bumped to end every session of the user (password change, removal).
    session_epoch   INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,              -- Unix milliseconds
    last_sign_in_at INTEGER
);

-- Projects own webhooks and events; the REST API signs in with id + secret.
CREATE TABLE projects (
    id          TEXT PRIMARY KEY,                  -- prj_ + 20 base62
    name        TEXT NOT NULL,
    secret_hash BLOB NOT NULL,                     -- SHA-256 of the secret
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Failed sign-ins, for throttling per account and per address.
CREATE TABLE login_failures (
    id    INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    ip    TEXT NOT NULL,
    at    INTEGER NOT NULL                         -- Unix milliseconds
);
CREATE INDEX login_failures_email_at ON login_failures (email, at);
CREATE INDEX login_failures_ip_at ON login_failures (ip, at);
