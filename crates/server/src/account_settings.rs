//! Each account's LeakGuard settings (`leakguard_core::settings::Settings`, the one format the
//! widget also uses), stored as JSON per account.
//!
//! How the two copies stay in step: the widget edits the copy amoCRM keeps (its `custom` settings
//! field `config`) and, after amoCRM saved it, PUTs the same JSON to `/api/settings`. The backend
//! also reads the widget's own copy (`GET /api/v4/widgets/{code}`, `settings.config`) at every
//! full scan and adopts it when it is valid and differs, so a missed PUT heals within a day. An
//! account with no settings yet runs on the defaults, which work on a fresh install.

use anyhow::Result;
use leakguard_core::settings::{Problem, Settings};
use sqlx::Row;

use crate::db::{now_ms, Db};

/// The account's settings, the defaults when none were saved (or the saved JSON is unreadable).
pub async fn load(db: &Db, account_id: i64) -> Result<Settings> {
    Ok(stored(db, account_id)
        .await?
        .map(|(settings, _)| settings)
        .unwrap_or_default())
}

/// The saved settings and when they were saved (Unix ms), if any.
pub async fn stored(db: &Db, account_id: i64) -> Result<Option<(Settings, i64)>> {
    let row =
        sqlx::query("SELECT settings, updated_at FROM account_settings WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(&db.pool)
            .await?;
    let Some(row) = row else { return Ok(None) };
    let text: String = row.try_get("settings")?;
    match serde_json::from_str(&text) {
        Ok(settings) => Ok(Some((settings, row.try_get("updated_at")?))),
        Err(error) => {
            tracing::warn!(account_id, %error, "stored settings are unreadable; using the defaults");
            Ok(None)
        }
    }
}

/// Validates and saves `settings`; returns every problem instead when there are any.
pub async fn save(
    db: &Db,
    account_id: i64,
    settings: &Settings,
    user_id: Option<i64>,
) -> Result<Result<(), Vec<Problem>>> {
    let problems = settings.validate();
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    sqlx::query(
        "INSERT INTO account_settings (account_id, settings, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account_id) DO UPDATE SET settings = excluded.settings, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(account_id)
    .bind(serde_json::to_string(settings)?)
    .bind(now_ms())
    .bind(user_id)
    .execute(&db.pool)
    .await?;
    Ok(Ok(()))
}
