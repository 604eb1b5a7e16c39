-- The webhook events subscribed with the destination (comma-separated), so that a server that
-- needs more events (the payments' `note_lead`) subscribes again once
-- (same portability rules as the first migration).
ALTER TABLE accounts ADD COLUMN webhook_events TEXT;
