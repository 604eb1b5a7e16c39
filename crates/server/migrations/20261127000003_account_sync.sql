-- When the periodic account sync last scanned amoCRM for deals the webhooks may have missed (Unix ms).
ALTER TABLE accounts ADD COLUMN synced_at BIGINT;
