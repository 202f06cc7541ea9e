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

-- The role `viewer`.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('admin', 'member', 'viewer'));
