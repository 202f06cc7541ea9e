-- Tenants and the customer portal (issue 23).

-- The platform's customer a webhook belongs to (1 to 64 of A-Z a-z 0-9 . _ : -);
-- NULL: the platform's own webhook. An event published for a tenant goes
-- to that tenant's webhooks only; one without a tenant to those without.
ALTER TABLE webhooks ADD COLUMN tenant TEXT;
ALTER TABLE events ADD COLUMN tenant TEXT;

-- One active webhook per URL per tenant (and one among the project's own):
-- a tenant must not learn that another one registered a URL.
DROP INDEX webhooks_active_url;
CREATE UNIQUE INDEX webhooks_active_url ON webhooks (project_id, coalesce(tenant, ''), url)
    WHERE deleted_at IS NULL;
-- A tenant's webhooks (its portal, `?tenant=`, publishing).
CREATE INDEX webhooks_tenant ON webhooks (project_id, tenant, created_at)
    WHERE deleted_at IS NULL AND tenant IS NOT NULL;

-- How the portal looks: the platform's name and accent colour (#rrggbb).
ALTER TABLE projects ADD COLUMN portal_name TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN portal_accent TEXT NOT NULL DEFAULT '';

-- A new signing secret made in the portal, sealed, until the page that
-- shows it takes it (the portal has no session to keep it in).
CREATE TABLE portal_shown (
    id         TEXT PRIMARY KEY,   -- random, carried in the page address
    sealed     BYTEA NOT NULL,      -- the ShownOnce as JSON, sealed with the server's key
    expires_at BIGINT NOT NULL
);
