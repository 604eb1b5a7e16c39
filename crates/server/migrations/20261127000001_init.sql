-- LeakGuard server schema, one file for SQLite and PostgreSQL alike.
-- Portability rules (the server talks to both through sqlx's Any driver):
-- integers are BIGINT, text is TEXT, times are Unix milliseconds written by the application,
-- primary keys are natural keys or application-generated UUIDv7 text (no AUTOINCREMENT or SERIAL),
-- no booleans, no BLOB/BYTEA (ciphertexts are base64 text), and no database clock functions.

-- One row per amoCRM account that installed the integration or has a configured long-lived token.
CREATE TABLE accounts (
    account_id BIGINT PRIMARY KEY,
    base_url TEXT NOT NULL,
    subdomain TEXT,
    timezone TEXT,
    status TEXT NOT NULL,
    token_kind TEXT NOT NULL,
    access_token TEXT,
    refresh_token TEXT,
    previous_refresh_token TEXT,
    expires_at BIGINT,
    token_version BIGINT NOT NULL,
    paused_until BIGINT,
    pause_reason TEXT,
    installed_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Every distinct webhook event received; the key makes redeliveries no-ops.
CREATE TABLE webhook_events (
    dedup_key TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    entity TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_id BIGINT NOT NULL,
    payload TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX webhook_events_account ON webhook_events (account_id, received_at);

-- The durable job queue. A NULL dedup_key never conflicts; a non-NULL one enqueues at most once.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedup_key TEXT UNIQUE,
    state TEXT NOT NULL,
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at);
CREATE INDEX jobs_account ON jobs (account_id, state);

-- Idempotency keys of side effects in amoCRM: the intent is written before the request,
-- the result id after it; a retry that finds an intent looks the effect up before repeating it.
CREATE TABLE effects (
    effect_key TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    result_id BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The per-account request window shared by every worker of every instance, plus a back-off
-- deadline set by a 429. `grants` holds the recent request times, comma-separated.
CREATE TABLE rate_windows (
    account_id BIGINT PRIMARY KEY,
    grants TEXT NOT NULL,
    blocked_until BIGINT NOT NULL
);
