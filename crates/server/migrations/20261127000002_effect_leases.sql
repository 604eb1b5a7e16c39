-- An effect's intent is leased by the worker carrying it out: another worker that meets the same
-- key waits while the lease runs, and takes the effect over (looking it up first) once it expires.
ALTER TABLE effects ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
