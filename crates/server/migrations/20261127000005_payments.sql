-- The synced copy of each account's payments (issue 6) and the overdue reminders the backend made
-- (same portability rules as the first migration).

-- amoCRM's currency of the account (`GET /api/v4/account`), to read the amounts of payment records.
ALTER TABLE accounts ADD COLUMN currency TEXT;

-- Every LeakGuard payment record (an element of the account's payments catalog), as last read.
CREATE TABLE payment_records (
    account_id BIGINT NOT NULL,
    -- The catalog element id.
    id BIGINT NOT NULL,
    lead_id BIGINT NOT NULL,
    -- `plan`, `payment`, `expense` or `void`.
    kind TEXT NOT NULL,
    -- The record's local date as days since 1970-01-01.
    day BIGINT NOT NULL,
    -- Minor units of the account currency.
    amount BIGINT NOT NULL,
    planned_id BIGINT,
    comment TEXT NOT NULL,
    -- When the row was last written (Unix ms): a full read of the catalog removes rows older than its start.
    seen_ms BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX payment_records_lead ON payment_records (account_id, lead_id);

-- One reminder task per planned payment and due date; closed when it is paid, rescheduled or removed.
CREATE TABLE payment_reminders (
    account_id BIGINT NOT NULL,
    planned_id BIGINT NOT NULL,
    due_day BIGINT NOT NULL,
    lead_id BIGINT NOT NULL,
    task_id BIGINT NOT NULL,
    -- `open` or `closed`.
    state TEXT NOT NULL,
    -- Why it was closed: `paid`, `rescheduled` or `removed`.
    closed_reason TEXT,
    created_at BIGINT NOT NULL,
    closed_at BIGINT,
    PRIMARY KEY (account_id, planned_id, due_day)
);
CREATE INDEX payment_reminders_state ON payment_reminders (account_id, state);
