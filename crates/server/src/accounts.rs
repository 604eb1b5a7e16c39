//! The `accounts` table: installation state, encrypted tokens and the ban pause of each amoCRM account.

use anyhow::Result;
use serde::Serialize;
use sqlx::Row;

use crate::crypto::TokenCipher;
use crate::db::{now_ms, Db};

/// `status` of an account that can be called.
pub const INSTALLED: &str = "installed";
/// `status` after the uninstall hook.
pub const REVOKED: &str = "revoked";
/// `status` when no token works any more and an admin must reinstall.
pub const REAUTH_REQUIRED: &str = "reauth_required";

/// `token_kind` of an OAuth access/refresh pair.
pub const OAUTH: &str = "oauth";
/// `token_kind` of a private integration's long-lived token.
pub const LONG_LIVED: &str = "long_lived";

/// An account's public state (no tokens), as `/api/account` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Account {
    pub account_id: i64,
    pub base_url: String,
    pub subdomain: Option<String>,
    pub timezone: Option<String>,
    pub status: String,
    pub token_kind: String,
    /// When the access token expires (Unix milliseconds); none for long-lived tokens.
    pub expires_at: Option<i64>,
    /// Set while calls are paused after amoCRM answered 403 (a ban), Unix milliseconds.
    pub paused_until: Option<i64>,
    pub pause_reason: Option<String>,
    pub installed_at: i64,
    /// amoCRM's `country` of the account (picks the working-day calendar).
    pub country: Option<String>,
    /// The language of the texts LeakGuard writes into the account (`ru`, `en`, `es`, `pt`).
    pub lang: Option<String>,
    /// Business time from which the next-step watchdog acts (the first full scan's start).
    pub automation_from: Option<i64>,
    /// When the last full scan finished (business seconds).
    pub full_synced_at: Option<i64>,
    /// When the last reconciliation (delta scan) started (business seconds).
    pub delta_synced_at: Option<i64>,
    /// The webhook destination subscribed in amoCRM.
    pub webhook_destination: Option<String>,
    /// The events subscribed with `webhook_destination`, comma-separated.
    pub webhook_events: Option<String>,
    /// amoCRM's currency code of the account (`RUB`, `USD`, …), once a full scan read it.
    pub currency: Option<String>,
}

/// The decrypted tokens of an account plus the version that guards concurrent refreshes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tokens {
    pub kind: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub previous_refresh_token: Option<String>,
    pub expires_at: Option<i64>,
    pub version: i64,
}

/// A freshly issued access/refresh pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: i64,
}

const ACCOUNT_COLUMNS: &str = "account_id, base_url, subdomain, timezone, status, token_kind, \
    expires_at, paused_until, pause_reason, installed_at, country, lang, automation_from, \
    full_synced_at, delta_synced_at, webhook_destination, webhook_events, currency";

fn account_of(row: &sqlx::any::AnyRow) -> Result<Account, sqlx::Error> {
    Ok(Account {
        account_id: row.try_get("account_id")?,
        base_url: row.try_get("base_url")?,
        subdomain: row.try_get("subdomain")?,
        timezone: row.try_get("timezone")?,
        status: row.try_get("status")?,
        token_kind: row.try_get("token_kind")?,
        expires_at: row.try_get("expires_at")?,
        paused_until: row.try_get("paused_until")?,
        pause_reason: row.try_get("pause_reason")?,
        installed_at: row.try_get("installed_at")?,
        country: row.try_get("country")?,
        lang: row.try_get("lang")?,
        automation_from: row.try_get("automation_from")?,
        full_synced_at: row.try_get("full_synced_at")?,
        delta_synced_at: row.try_get("delta_synced_at")?,
        webhook_destination: row.try_get("webhook_destination")?,
        webhook_events: row.try_get("webhook_events")?,
        currency: row.try_get("currency")?,
    })
}

/// The account's state, if it is known.
pub async fn get(db: &Db, account_id: i64) -> Result<Option<Account>> {
    let row = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE account_id = $1"
    ))
    .bind(account_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.as_ref().map(account_of).transpose()?)
}

/// Every account that can be called (installed), for the scheduler.
pub async fn installed(db: &Db) -> Result<Vec<Account>> {
    let rows = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE status = $1 ORDER BY account_id"
    ))
    .bind(INSTALLED)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(account_of).collect::<Result<_, _>>()?)
}

/// True when some installed account lives at `origin` (used for CORS preflights).
pub async fn origin_is_installed(db: &Db, origin: &str) -> Result<bool> {
    let row = sqlx::query("SELECT COUNT(*) FROM accounts WHERE base_url = $1 AND status = $2")
        .bind(origin.trim_end_matches('/'))
        .bind(INSTALLED)
        .fetch_one(&db.pool)
        .await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}

/// The installed account whose subdomain is `subdomain` (old webhook payloads carry only that).
pub async fn by_subdomain(db: &Db, subdomain: &str) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT account_id FROM accounts WHERE subdomain = $1")
        .bind(subdomain)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

/// Records an OAuth installation (or a reinstallation, replacing the old tokens).
pub async fn install_oauth(
    db: &Db,
    cipher: &TokenCipher,
    account_id: i64,
    base_url: &str,
    subdomain: Option<&str>,
    pair: &NewPair,
) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO accounts (account_id, base_url, subdomain, status, token_kind, access_token, \
         refresh_token, previous_refresh_token, expires_at, token_version, installed_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, 1, $9, $9) \
         ON CONFLICT (account_id) DO UPDATE SET base_url = excluded.base_url, \
         subdomain = excluded.subdomain, status = excluded.status, token_kind = excluded.token_kind, \
         access_token = excluded.access_token, refresh_token = excluded.refresh_token, \
         previous_refresh_token = NULL, expires_at = excluded.expires_at, \
         token_version = accounts.token_version + 1, paused_until = NULL, pause_reason = NULL, \
         installed_at = excluded.installed_at, updated_at = excluded.updated_at, \
         webhook_destination = NULL, webhook_events = NULL, scan_cursor = NULL",
    )
    .bind(account_id)
    .bind(base_url.trim_end_matches('/'))
    .bind(subdomain)
    .bind(INSTALLED)
    .bind(OAUTH)
    .bind(cipher.encrypt(&pair.access_token))
    .bind(cipher.encrypt(&pair.refresh_token))
    .bind(pair.expires_at)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Records (or refreshes) a configured long-lived token; an OAuth installation of the same account wins.
pub async fn install_long_lived(
    db: &Db,
    cipher: &TokenCipher,
    account_id: i64,
    base_url: &str,
    token: &str,
) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO accounts (account_id, base_url, status, token_kind, access_token, \
         token_version, installed_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $6) \
         ON CONFLICT (account_id) DO UPDATE SET base_url = excluded.base_url, \
         status = excluded.status, access_token = excluded.access_token, \
         token_version = accounts.token_version + 1, updated_at = excluded.updated_at \
         WHERE accounts.token_kind = excluded.token_kind",
    )
    .bind(account_id)
    .bind(base_url.trim_end_matches('/'))
    .bind(INSTALLED)
    .bind(LONG_LIVED)
    .bind(cipher.encrypt(token))
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The account's decrypted tokens, if it has any and is installed.
pub async fn tokens(db: &Db, cipher: &TokenCipher, account_id: i64) -> Result<Option<Tokens>> {
    let row = sqlx::query(
        "SELECT token_kind, access_token, refresh_token, previous_refresh_token, expires_at, \
         token_version FROM accounts WHERE account_id = $1 AND status = $2",
    )
    .bind(account_id)
    .bind(INSTALLED)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let decrypt = |column: &str| -> Result<Option<String>> {
        let sealed: Option<String> = row.try_get(column)?;
        sealed.map(|sealed| cipher.decrypt(&sealed)).transpose()
    };
    let Some(access_token) = decrypt("access_token")? else {
        return Ok(None);
    };
    Ok(Some(Tokens {
        kind: row.try_get("token_kind")?,
        access_token,
        refresh_token: decrypt("refresh_token")?,
        previous_refresh_token: decrypt("previous_refresh_token")?,
        expires_at: row.try_get("expires_at")?,
        version: row.try_get("token_version")?,
    }))
}

/// Stores a refreshed pair if nobody else stored one since `version`; keeps `used_refresh` as the
/// previous refresh token for the one retry the grace-period policy allows. Returns false when
/// another worker won the race.
pub async fn store_refreshed(
    db: &Db,
    cipher: &TokenCipher,
    account_id: i64,
    version: i64,
    used_refresh: &str,
    pair: &NewPair,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE accounts SET access_token = $1, refresh_token = $2, previous_refresh_token = $3, \
         expires_at = $4, token_version = token_version + 1, updated_at = $5 \
         WHERE account_id = $6 AND token_version = $7",
    )
    .bind(cipher.encrypt(&pair.access_token))
    .bind(cipher.encrypt(&pair.refresh_token))
    .bind(cipher.encrypt(used_refresh))
    .bind(pair.expires_at)
    .bind(now_ms())
    .bind(account_id)
    .bind(version)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets the account's status (revoked by the uninstall hook, or reauth_required) and drops its tokens.
pub async fn set_status_dropping_tokens(db: &Db, account_id: i64, status: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE accounts SET status = $1, access_token = NULL, refresh_token = NULL, \
         previous_refresh_token = NULL, token_version = token_version + 1, updated_at = $2 \
         WHERE account_id = $3",
    )
    .bind(status)
    .bind(now_ms())
    .bind(account_id)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Pauses every call to the account until `until_ms` (a 403 ban), with a reason to show.
pub async fn pause(db: &Db, account_id: i64, until_ms: i64, reason: &str) -> Result<()> {
    sqlx::query(
        "UPDATE accounts SET paused_until = $1, pause_reason = $2, updated_at = $3 WHERE account_id = $4",
    )
    .bind(until_ms)
    .bind(reason)
    .bind(now_ms())
    .bind(account_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// What the account sync learned about the account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Details<'a> {
    pub subdomain: Option<&'a str>,
    pub timezone: Option<&'a str>,
    pub country: Option<&'a str>,
    pub lang: Option<&'a str>,
    pub currency: Option<&'a str>,
}

/// Stores what the account sync learned (subdomain, time zone, country, language, currency).
pub async fn update_details(db: &Db, account_id: i64, details: &Details<'_>) -> Result<()> {
    sqlx::query(
        "UPDATE accounts SET subdomain = COALESCE($1, subdomain), timezone = COALESCE($2, timezone), \
         country = COALESCE($3, country), lang = COALESCE($4, lang), currency = COALESCE($7, currency), \
         updated_at = $5 WHERE account_id = $6",
    )
    .bind(details.subdomain)
    .bind(details.timezone)
    .bind(details.country)
    .bind(details.lang)
    .bind(now_ms())
    .bind(account_id)
    .bind(details.currency)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// A running full scan's resumable position (JSON), if one is under way.
pub async fn scan_cursor(db: &Db, account_id: i64) -> Result<Option<String>> {
    let row = sqlx::query("SELECT scan_cursor FROM accounts WHERE account_id = $1")
        .bind(account_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?.flatten())
}

/// Records the end of a full scan that started at `started` (business seconds): clears the cursor,
/// sets the first automation moment once, and starts reconciliations from the scan's start.
pub async fn finish_full_scan(db: &Db, account_id: i64, started: i64, finished: i64) -> Result<()> {
    sqlx::query(
        "UPDATE accounts SET scan_cursor = NULL, full_synced_at = $1, full_scan_started = $2, \
         automation_from = COALESCE(automation_from, $2), \
         delta_synced_at = CASE WHEN delta_synced_at IS NULL OR delta_synced_at < $2 THEN $2 \
         ELSE delta_synced_at END, synced_at = $3, full_finished_ms = $3 WHERE account_id = $4",
    )
    .bind(finished)
    .bind(started)
    .bind(now_ms())
    .bind(account_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// When the last full scan finished (Unix ms of the machine's clock), if ever.
pub async fn full_finished_ms(db: &Db, account_id: i64) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT full_finished_ms FROM accounts WHERE account_id = $1")
        .bind(account_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?.flatten())
}

/// Records a finished reconciliation that started at `started` (business seconds).
pub async fn finish_delta(db: &Db, account_id: i64, started: i64) -> Result<()> {
    sqlx::query("UPDATE accounts SET delta_synced_at = $1, synced_at = $2 WHERE account_id = $3")
        .bind(started)
        .bind(now_ms())
        .bind(account_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Records (or clears) the webhook destination subscribed in amoCRM and its events.
pub async fn set_webhook_destination(
    db: &Db,
    account_id: i64,
    destination: Option<&str>,
    events: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE accounts SET webhook_destination = $1, webhook_events = $2 WHERE account_id = $3",
    )
    .bind(destination)
    .bind(events)
    .bind(account_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// When the account sync last scanned the account (Unix ms), if ever.
pub async fn synced_at(db: &Db, account_id: i64) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT synced_at FROM accounts WHERE account_id = $1")
        .bind(account_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?.flatten())
}

/// Stores a full scan's resumable position (JSON).
pub async fn set_scan_cursor(db: &Db, account_id: i64, cursor: &str) -> Result<()> {
    sqlx::query("UPDATE accounts SET scan_cursor = $1 WHERE account_id = $2")
        .bind(cursor)
        .bind(account_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// How many accounts are paused now, for metrics.
pub async fn paused_count(db: &Db) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) FROM accounts WHERE paused_until > $1")
        .bind(now_ms())
        .fetch_one(&db.pool)
        .await?;
    Ok(row.try_get(0)?)
}
