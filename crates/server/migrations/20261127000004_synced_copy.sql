-- The synced copy of each account, the automations' state and the widget-facing data
-- (same portability rules as the first migration).

-- What the account sync learned and where it stands.
ALTER TABLE accounts ADD COLUMN country TEXT;
ALTER TABLE accounts ADD COLUMN lang TEXT;
-- The first full scan's start in business time: the watchdog acts on deals that lost their next step after it.
ALTER TABLE accounts ADD COLUMN automation_from BIGINT;
-- When the last full scan finished and started (business seconds), and the last delta scan's start.
ALTER TABLE accounts ADD COLUMN full_synced_at BIGINT;
ALTER TABLE accounts ADD COLUMN full_scan_started BIGINT;
ALTER TABLE accounts ADD COLUMN delta_synced_at BIGINT;
-- When the last full scan finished on the machine's clock (Unix ms): a scan asked for earlier is served.
ALTER TABLE accounts ADD COLUMN full_finished_ms BIGINT;
-- A running full scan's resumable position: `phase:page`.
ALTER TABLE accounts ADD COLUMN scan_cursor TEXT;
-- The webhook destination subscribed in amoCRM, if any.
ALTER TABLE accounts ADD COLUMN webhook_destination TEXT;

-- Leads (deals) as amoCRM last told us, from scans, webhooks and events.
CREATE TABLE leads (
    account_id BIGINT NOT NULL,
    id BIGINT NOT NULL,
    name TEXT NOT NULL,
    price BIGINT NOT NULL,
    pipeline_id BIGINT NOT NULL,
    status_id BIGINT NOT NULL,
    responsible_user_id BIGINT NOT NULL,
    group_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    closed_at BIGINT,
    loss_reason_id BIGINT,
    -- When the lead entered its current stage (Unix seconds).
    stage_since BIGINT NOT NULL,
    -- The latest `lead_status_changed` event seen for the lead.
    status_event_at BIGINT NOT NULL,
    is_deleted BIGINT NOT NULL,
    -- A JSON array of `{"id","name"}`.
    tags TEXT NOT NULL,
    -- Since when the lead has had no open task, and what the webhook said caused it.
    no_task_since BIGINT,
    no_task_source TEXT,
    -- 1 once an API read (scan) confirmed the row after its last webhook change.
    confirmed BIGINT NOT NULL,
    -- The full scan that last saw the lead (deleted leads are not listed).
    scan_id BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX leads_status ON leads (account_id, status_id);

-- Open tasks attached to leads; a completed or deleted task is removed.
CREATE TABLE tasks (
    account_id BIGINT NOT NULL,
    id BIGINT NOT NULL,
    lead_id BIGINT NOT NULL,
    responsible_user_id BIGINT NOT NULL,
    complete_till BIGINT NOT NULL,
    text TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    scan_id BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX tasks_lead ON tasks (account_id, lead_id);

-- Users, stages and loss reasons, for names in the queue and for the rules.
CREATE TABLE users (
    account_id BIGINT NOT NULL,
    id BIGINT NOT NULL,
    name TEXT NOT NULL,
    group_id BIGINT NOT NULL,
    lang TEXT,
    is_active BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE TABLE stages (
    account_id BIGINT NOT NULL,
    pipeline_id BIGINT NOT NULL,
    status_id BIGINT NOT NULL,
    pipeline_name TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (account_id, pipeline_id, status_id)
);
CREATE TABLE loss_reasons (
    account_id BIGINT NOT NULL,
    id BIGINT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (account_id, id)
);

-- One row per scan, with the requests it cost.
CREATE TABLE sync_runs (
    id TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    requests BIGINT NOT NULL,
    leads BIGINT NOT NULL,
    tasks BIGINT NOT NULL,
    events BIGINT NOT NULL
);
CREATE INDEX sync_runs_account ON sync_runs (account_id, started_at);

-- The settings of each account (`leakguard_core::settings::Settings` as JSON).
CREATE TABLE account_settings (
    account_id BIGINT PRIMARY KEY,
    settings TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by BIGINT
);

-- What the automations did and why.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    deal_id BIGINT NOT NULL,
    source TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_account ON audit_log (account_id, at);

-- A supervisor's work on a quality-control breach, keyed by the breach (kind, deal, start).
CREATE TABLE qc_notes (
    account_id BIGINT NOT NULL,
    breach_id TEXT NOT NULL,
    acked_by BIGINT,
    acked_at BIGINT,
    comments TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, breach_id)
);

-- Named leases (one automation pass per account at a time).
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    lease_until BIGINT NOT NULL
);
