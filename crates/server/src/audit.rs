//! The automations' audit log: one row per thing LeakGuard did in amoCRM on its own, with where the
//! bypass came from as far as the webhook tells.
//!
//! Sources: amoCRM's hooks carry who made a change (`modified_user_id`, 0 for robots) and how many
//! items one delivery held, but not the screen or client it came from. So a change by user 0 is
//! `salesbot` (Salesbot, digital-pipeline robots), a delivery with several leads of one action is
//! `bulk`, a lead created without a task is `api` (forms, integrations and imports create leads;
//! people mostly start from the card, which the widget guards), any other status change by a person
//! is `board` (the pipeline board, the list or the mobile app), a completed last task is
//! `task_completed`, and anything found by a scan rather than a hook is `unknown`.

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use crate::db::Db;
use crate::webhook::parser::{Action, Entity, Event};

/// A stage change by a person outside the card.
pub const SOURCE_BOARD: &str = "board";
/// Several leads changed by one action.
pub const SOURCE_BULK: &str = "bulk";
/// A lead created without a task.
pub const SOURCE_API: &str = "api";
/// A robot: Salesbot or the digital pipeline.
pub const SOURCE_SALESBOT: &str = "salesbot";
/// The lead's last open task was completed or deleted.
pub const SOURCE_TASK_COMPLETED: &str = "task_completed";
/// Found by a scan; no hook said how.
pub const SOURCE_UNKNOWN: &str = "unknown";

/// Where the change described by a hook came from.
pub fn source_of(event: &Event) -> &'static str {
    match (event.entity, event.action) {
        (Entity::Task, _) => SOURCE_TASK_COMPLETED,
        _ if event.modified_user_id == Some(0) => SOURCE_SALESBOT,
        _ if event.batch > 1 => SOURCE_BULK,
        (Entity::Lead, Action::Add) => SOURCE_API,
        (Entity::Lead, _) => SOURCE_BOARD,
    }
}

/// One audit row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Entry {
    pub at: i64,
    pub kind: String,
    pub deal_id: i64,
    pub source: String,
    pub detail: Value,
}

/// Records what an automation did (`at` is business time).
pub async fn record<'e, E>(executor: E, account_id: i64, entry: &Entry) -> Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO audit_log (id, account_id, at, kind, deal_id, source, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(account_id)
    .bind(entry.at)
    .bind(&entry.kind)
    .bind(entry.deal_id)
    .bind(&entry.source)
    .bind(entry.detail.to_string())
    .execute(executor)
    .await?;
    Ok(())
}

/// The latest audit rows of an account, newest first.
pub async fn recent(db: &Db, account_id: i64, limit: i64) -> Result<Vec<Entry>> {
    let rows = sqlx::query(
        "SELECT at, kind, deal_id, source, detail FROM audit_log WHERE account_id = $1 \
         ORDER BY id DESC LIMIT $2",
    )
    .bind(account_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            let detail: String = row.try_get("detail")?;
            Ok(Entry {
                at: row.try_get("at")?,
                kind: row.try_get("kind")?,
                deal_id: row.try_get("deal_id")?,
                source: row.try_get("source")?,
                detail: serde_json::from_str(&detail).unwrap_or(Value::Null),
            })
        })
        .collect()
}
