-- Facts about the installation that every process must agree on. Today:
-- `secret_key_fingerprint`, a SHA-256 of the key that seals webhook
-- secrets, so that a process started with another key is refused at start
-- rather than failing every delivery it attempts.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
