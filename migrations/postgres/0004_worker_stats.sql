-- What each worker holds, written with every lease renewal, for the
-- dashboard's System page (which shows every process on the database).
ALTER TABLE workers ADD COLUMN version TEXT NOT NULL DEFAULT '';
ALTER TABLE workers ADD COLUMN in_flight BIGINT NOT NULL DEFAULT 0;
ALTER TABLE workers ADD COLUMN max_in_flight BIGINT NOT NULL DEFAULT 0;
ALTER TABLE workers ADD COLUMN held_deliveries BIGINT NOT NULL DEFAULT 0;
ALTER TABLE workers ADD COLUMN held_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE workers ADD COLUMN stats_at BIGINT NOT NULL DEFAULT 0;
