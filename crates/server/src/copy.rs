//! The synced copy of an account in the database: leads, their open tasks, users, stages and loss
//! reasons, as scans, webhooks and the event feed last described them.
//!
//! Every write is newest-wins on the lead's `updated_at`, so duplicate and out-of-order webhooks
//! and overlapping scans converge. `stage_since` (when the lead entered its current stage) is the
//! latest known stage change: a `lead_status_changed` event, a status webhook, or, for a change seen
//! only in a lead row, that row's `updated_at`. `no_task_since` records when an open lead was
//! last left without an open task, for the next-step watchdog.

use std::collections::HashMap;

use anyhow::Result;
use leakguard_core::deal::is_closed_status;
use leakguard_core::metrics::{Deal, TaskEntity, TaskRef};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::db::Db;

/// A tag on a lead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagRow {
    #[serde(default)]
    pub id: Option<i64>,
    pub name: String,
}

/// One lead of the copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadRow {
    pub id: i64,
    pub name: String,
    pub price: i64,
    pub pipeline_id: i64,
    pub status_id: i64,
    pub responsible_user_id: i64,
    pub group_id: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub loss_reason_id: Option<i64>,
    pub stage_since: i64,
    pub status_event_at: i64,
    pub is_deleted: bool,
    pub tags: Vec<TagRow>,
    pub no_task_since: Option<i64>,
    pub no_task_source: Option<String>,
    /// Whether an API read confirmed the row after its last webhook change.
    pub confirmed: bool,
}

impl LeadRow {
    /// Whether the lead is neither deleted nor won or lost.
    pub fn is_open(&self) -> bool {
        !self.is_deleted && !is_closed_status(self.status_id as u32)
    }

    /// Whether the lead carries a tag called `name` (case-insensitive, as amoCRM matches names).
    pub fn has_tag(&self, name: &str) -> bool {
        self.tags
            .iter()
            .any(|tag| tag.name.trim().eq_ignore_ascii_case(name.trim()))
    }

    /// The lead as the core's metrics and queue see it.
    pub fn deal(&self) -> Deal {
        Deal {
            id: self.id as u64,
            name: self.name.clone(),
            price: self.price,
            pipeline_id: self.pipeline_id as u32,
            status_id: self.status_id as u32,
            responsible_user_id: self.responsible_user_id as u64,
            group_id: self.group_id as u64,
            created_at: self.created_at,
            closed_at: self.closed_at,
            loss_reason_id: self.loss_reason_id.map(|id| id as u64),
            stage_since: self.stage_since,
            is_deleted: self.is_deleted,
        }
    }
}

/// One open task of a lead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskRow {
    pub id: i64,
    pub lead_id: i64,
    pub responsible_user_id: i64,
    pub complete_till: i64,
    pub text: String,
    pub updated_at: i64,
}

impl TaskRow {
    /// The task as the core sees it.
    pub fn task_ref(&self) -> TaskRef {
        TaskRef {
            id: self.id as u64,
            entity_type: TaskEntity::Lead,
            entity_id: self.lead_id as u64,
            complete_till: self.complete_till,
            is_completed: false,
            responsible_user_id: self.responsible_user_id as u64,
        }
    }
}

const LEAD_COLUMNS: &str = "id, name, price, pipeline_id, status_id, responsible_user_id, group_id, \
    created_at, updated_at, closed_at, loss_reason_id, stage_since, status_event_at, is_deleted, tags, \
    no_task_since, no_task_source, confirmed";

fn lead_of(row: &AnyRow) -> Result<LeadRow, sqlx::Error> {
    let tags: String = row.try_get("tags")?;
    Ok(LeadRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        price: row.try_get("price")?,
        pipeline_id: row.try_get("pipeline_id")?,
        status_id: row.try_get("status_id")?,
        responsible_user_id: row.try_get("responsible_user_id")?,
        group_id: row.try_get("group_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        closed_at: row.try_get("closed_at")?,
        loss_reason_id: row.try_get("loss_reason_id")?,
        stage_since: row.try_get("stage_since")?,
        status_event_at: row.try_get("status_event_at")?,
        is_deleted: row.try_get::<i64, _>("is_deleted")? != 0,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        no_task_since: row.try_get("no_task_since")?,
        no_task_source: row.try_get("no_task_source")?,
        confirmed: row.try_get::<i64, _>("confirmed")? != 0,
    })
}

fn task_of(row: &AnyRow) -> Result<TaskRow, sqlx::Error> {
    Ok(TaskRow {
        id: row.try_get("id")?,
        lead_id: row.try_get("lead_id")?,
        responsible_user_id: row.try_get("responsible_user_id")?,
        complete_till: row.try_get("complete_till")?,
        text: row.try_get("text")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// One lead of the copy.
pub async fn lead<'e, E>(executor: E, account_id: i64, id: i64) -> Result<Option<LeadRow>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query(&format!(
        "SELECT {LEAD_COLUMNS} FROM leads WHERE account_id = $1 AND id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(executor)
    .await?;
    Ok(row.as_ref().map(lead_of).transpose()?)
}

/// Every lead of the account that is not deleted.
pub async fn leads(db: &Db, account_id: i64) -> Result<Vec<LeadRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {LEAD_COLUMNS} FROM leads WHERE account_id = $1 AND is_deleted = 0 ORDER BY id"
    ))
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(lead_of).collect::<Result<_, _>>()?)
}

/// Every open task of the account.
pub async fn tasks(db: &Db, account_id: i64) -> Result<Vec<TaskRow>> {
    let rows = sqlx::query(
        "SELECT id, lead_id, responsible_user_id, complete_till, text, updated_at FROM tasks \
         WHERE account_id = $1 ORDER BY id",
    )
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(task_of).collect::<Result<_, _>>()?)
}

/// The open tasks of one lead.
pub async fn tasks_of_lead<'e, E>(
    executor: E,
    account_id: i64,
    lead_id: i64,
) -> Result<Vec<TaskRow>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT id, lead_id, responsible_user_id, complete_till, text, updated_at FROM tasks \
         WHERE account_id = $1 AND lead_id = $2 ORDER BY id",
    )
    .bind(account_id)
    .bind(lead_id)
    .fetch_all(executor)
    .await?;
    Ok(rows.iter().map(task_of).collect::<Result<_, _>>()?)
}

/// What a lead row says, from an API read or a webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadFacts {
    pub id: i64,
    pub name: Option<String>,
    pub price: Option<i64>,
    pub pipeline_id: Option<i64>,
    pub status_id: Option<i64>,
    pub responsible_user_id: Option<i64>,
    pub group_id: Option<i64>,
    pub created_at: Option<i64>,
    pub updated_at: i64,
    /// `Some(None)`: known to be open (no `closed_at`); `None`: not said.
    pub closed_at: Option<Option<i64>>,
    pub loss_reason_id: Option<Option<i64>>,
    pub tags: Option<Vec<TagRow>>,
    pub is_deleted: Option<bool>,
    /// True for an API read (it confirms the row).
    pub from_api: bool,
}

impl LeadFacts {
    /// The facts of a lead read from the API.
    pub fn from_api(lead: &amo_api::Lead) -> LeadFacts {
        LeadFacts {
            id: lead.id as i64,
            name: Some(lead.name.clone()),
            price: Some(lead.price),
            pipeline_id: Some(i64::from(lead.pipeline_id)),
            status_id: Some(i64::from(lead.status_id)),
            responsible_user_id: Some(lead.responsible_user_id as i64),
            group_id: Some(lead.group_id as i64),
            created_at: Some(lead.created_at),
            updated_at: lead.updated_at,
            closed_at: Some(lead.closed_at.filter(|&at| at > 0)),
            loss_reason_id: Some(lead.loss_reason_id.filter(|&id| id > 0).map(|id| id as i64)),
            tags: Some(
                lead.embedded
                    .tags
                    .iter()
                    .map(|tag| TagRow {
                        id: Some(tag.id as i64),
                        name: tag.name.clone(),
                    })
                    .collect(),
            ),
            is_deleted: Some(lead.is_deleted),
            from_api: true,
        }
    }
}

/// How a write changed a lead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The write was newer than the stored row (or created it).
    pub changed: bool,
    /// The stage changed (or the lead is new).
    pub moved: bool,
}

/// Writes `facts` into the copy when they are not older than the stored row; `scan_id` marks the
/// lead as seen by a full scan.
pub async fn apply_lead(
    tx: &mut Transaction<'static, Any>,
    account_id: i64,
    facts: &LeadFacts,
    scan_id: Option<i64>,
) -> Result<Applied> {
    let old = lead(&mut **tx, account_id, facts.id).await?;
    if let Some(old) = &old {
        if let Some(scan_id) = scan_id {
            sqlx::query("UPDATE leads SET scan_id = $1 WHERE account_id = $2 AND id = $3")
                .bind(scan_id)
                .bind(account_id)
                .bind(facts.id)
                .execute(&mut **tx)
                .await?;
        }
        // An older write loses. Of writes with the same `updated_at` (two changes within one
        // second), an API read confirms the row and wins, and hooks apply in the order they came
        // until a read confirmed that version.
        let confirmed_version =
            !facts.from_api && facts.updated_at == old.updated_at && old.confirmed;
        if facts.updated_at < old.updated_at || confirmed_version {
            return Ok(Applied::default());
        }
    }
    let created_at = facts
        .created_at
        .or(old.as_ref().map(|old| old.created_at))
        .unwrap_or(facts.updated_at);
    let pipeline_id = facts
        .pipeline_id
        .or(old.as_ref().map(|old| old.pipeline_id))
        .unwrap_or(0);
    let status_id = facts
        .status_id
        .or(old.as_ref().map(|old| old.status_id))
        .unwrap_or(0);
    let (stage_since, status_event_at, moved) = match &old {
        None => (created_at, 0, true),
        Some(old) if old.pipeline_id != pipeline_id || old.status_id != status_id => {
            // An event newer than the stored stage entry belongs to this change; else the row's time.
            let since = if old.status_event_at > old.stage_since {
                old.status_event_at
            } else {
                facts.updated_at
            };
            (since, old.status_event_at, true)
        }
        Some(old) => (old.stage_since, old.status_event_at, false),
    };
    let old_ref = old.as_ref();
    let int =
        |new: Option<i64>, get: fn(&LeadRow) -> i64| new.or_else(|| old_ref.map(get)).unwrap_or(0);
    let closed_at = match facts.closed_at {
        Some(value) => value,
        None if is_closed_status(status_id as u32) => old_ref.and_then(|old| old.closed_at),
        None => None,
    };
    let loss_reason_id = match facts.loss_reason_id {
        Some(value) => value,
        None if status_id == i64::from(amo_api::STATUS_LOST) => {
            old_ref.and_then(|old| old.loss_reason_id)
        }
        None => None,
    };
    let tags = facts
        .tags
        .clone()
        .or_else(|| old_ref.map(|old| old.tags.clone()))
        .unwrap_or_default();
    let is_deleted = facts
        .is_deleted
        .or(old_ref.map(|old| old.is_deleted))
        .unwrap_or(false);
    let name = facts
        .name
        .clone()
        .or_else(|| old_ref.map(|old| old.name.clone()))
        .unwrap_or_default();
    let done = sqlx::query(
        "INSERT INTO leads (account_id, id, name, price, pipeline_id, status_id, responsible_user_id, \
         group_id, created_at, updated_at, closed_at, loss_reason_id, stage_since, status_event_at, \
         is_deleted, tags, no_task_since, no_task_source, confirmed, scan_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, NULL, NULL, $17, $18) \
         ON CONFLICT (account_id, id) DO UPDATE SET name = excluded.name, price = excluded.price, \
         pipeline_id = excluded.pipeline_id, status_id = excluded.status_id, \
         responsible_user_id = excluded.responsible_user_id, group_id = excluded.group_id, \
         created_at = excluded.created_at, updated_at = excluded.updated_at, \
         closed_at = excluded.closed_at, loss_reason_id = excluded.loss_reason_id, \
         stage_since = excluded.stage_since, is_deleted = excluded.is_deleted, tags = excluded.tags, \
         confirmed = excluded.confirmed, scan_id = CASE WHEN excluded.scan_id > 0 \
         THEN excluded.scan_id ELSE leads.scan_id END \
         WHERE leads.updated_at < excluded.updated_at \
         OR (leads.updated_at = excluded.updated_at AND (excluded.confirmed = 1 OR leads.confirmed = 0))",
    )
    .bind(account_id)
    .bind(facts.id)
    .bind(name)
    .bind(int(facts.price, |old| old.price))
    .bind(pipeline_id)
    .bind(status_id)
    .bind(int(facts.responsible_user_id, |old| old.responsible_user_id))
    .bind(int(facts.group_id, |old| old.group_id))
    .bind(created_at)
    .bind(facts.updated_at)
    .bind(closed_at)
    .bind(loss_reason_id)
    .bind(stage_since)
    .bind(status_event_at)
    .bind(i64::from(is_deleted))
    .bind(serde_json::to_string(&tags)?)
    .bind(i64::from(facts.from_api))
    .bind(scan_id.unwrap_or(0))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    // A concurrent newer write wins (the guard above); then this one changed nothing.
    Ok(Applied {
        changed: done == 1,
        moved: moved && done == 1,
    })
}

/// Replaces a lead's tags in the copy (after LeakGuard changed them in amoCRM).
pub async fn set_tags<'e, E>(
    executor: E,
    account_id: i64,
    lead_id: i64,
    tags: &[TagRow],
) -> Result<()>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    sqlx::query("UPDATE leads SET tags = $1 WHERE account_id = $2 AND id = $3")
        .bind(serde_json::to_string(tags)?)
        .bind(account_id)
        .bind(lead_id)
        .execute(executor)
        .await?;
    Ok(())
}

/// Sets a lead's responsible user in the copy (after LeakGuard changed it in amoCRM).
pub async fn set_responsible(db: &Db, account_id: i64, lead_id: i64, user_id: i64) -> Result<()> {
    sqlx::query("UPDATE leads SET responsible_user_id = $1 WHERE account_id = $2 AND id = $3")
        .bind(user_id)
        .bind(account_id)
        .bind(lead_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Records a `lead_status_changed` event: the lead entered `(pipeline_id, status_id)` at `at`.
/// It becomes the stage entry when the lead is in that stage now and the event is newer.
pub async fn apply_status_event<'e, E>(
    executor: E,
    account_id: i64,
    lead_id: i64,
    at: i64,
    to: Option<(i64, i64)>,
) -> Result<()>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let (pipeline_id, status_id) = to.unwrap_or((-1, -1));
    sqlx::query(
        "UPDATE leads SET stage_since = CASE WHEN status_id = $1 AND (pipeline_id = $2 OR $2 < 0) \
         AND stage_since < $3 THEN $3 ELSE stage_since END, \
         status_event_at = CASE WHEN status_event_at < $3 THEN $3 ELSE status_event_at END \
         WHERE account_id = $4 AND id = $5",
    )
    .bind(status_id)
    .bind(pipeline_id)
    .bind(at)
    .bind(account_id)
    .bind(lead_id)
    .execute(executor)
    .await?;
    Ok(())
}

/// Marks a lead deleted (a `delete` hook).
pub async fn delete_lead<'e, E>(executor: E, account_id: i64, lead_id: i64) -> Result<()>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    sqlx::query(
        "UPDATE leads SET is_deleted = 1, no_task_since = NULL WHERE account_id = $1 AND id = $2",
    )
    .bind(account_id)
    .bind(lead_id)
    .execute(executor)
    .await?;
    Ok(())
}

/// Stores an open task of a lead, unless the stored copy is newer.
pub async fn upsert_task<'e, E>(
    executor: E,
    account_id: i64,
    task: &TaskRow,
    scan_id: i64,
) -> Result<()>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    sqlx::query(
        "INSERT INTO tasks (account_id, id, lead_id, responsible_user_id, complete_till, text, updated_at, scan_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (account_id, id) DO UPDATE SET \
         lead_id = excluded.lead_id, responsible_user_id = excluded.responsible_user_id, \
         complete_till = excluded.complete_till, text = excluded.text, updated_at = excluded.updated_at, \
         scan_id = CASE WHEN excluded.scan_id > 0 THEN excluded.scan_id ELSE tasks.scan_id END \
         WHERE tasks.updated_at <= excluded.updated_at",
    )
    .bind(account_id)
    .bind(task.id)
    .bind(task.lead_id)
    .bind(task.responsible_user_id)
    .bind(task.complete_till)
    .bind(&task.text)
    .bind(task.updated_at)
    .bind(scan_id)
    .execute(executor)
    .await?;
    Ok(())
}

/// Removes a task from the open set (completed or deleted); returns its lead when it was there.
pub async fn remove_task<'e, E>(executor: E, account_id: i64, task_id: i64) -> Result<Option<i64>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query("DELETE FROM tasks WHERE account_id = $1 AND id = $2 RETURNING lead_id")
        .bind(account_id)
        .bind(task_id)
        .fetch_optional(executor)
        .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

/// Brings one lead's `no_task_since` up to date: set to `at` (with `source`) when an open lead has
/// no open task and had none recorded, cleared when it has one or is closed. A hook's source
/// replaces `unknown` (a scan saw the lead first).
pub async fn refresh_no_task<'e, E>(
    executor: E,
    account_id: i64,
    lead_id: i64,
    at: i64,
    source: &str,
) -> Result<()>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    sqlx::query(&format!(
        "UPDATE leads SET \
         no_task_since = CASE WHEN {NEEDS_TASK} THEN COALESCE(no_task_since, $1) ELSE NULL END, \
         no_task_source = CASE WHEN NOT ({NEEDS_TASK}) THEN NULL \
         WHEN no_task_source IS NULL OR no_task_source = $5 THEN $2 ELSE no_task_source END \
         WHERE account_id = $3 AND id = $4"
    ))
    .bind(at)
    .bind(source)
    .bind(account_id)
    .bind(lead_id)
    .bind(crate::audit::SOURCE_UNKNOWN)
    .execute(executor)
    .await?;
    Ok(())
}

/// The same for every lead of the account (after a scan); a lead found without a task is taken to
/// have had none since it entered its stage, its source unknown.
pub async fn refresh_no_task_all<'e, E>(executor: E, account_id: i64) -> Result<()>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    sqlx::query(&format!(
        "UPDATE leads SET \
         no_task_since = CASE WHEN {NEEDS_TASK} THEN COALESCE(no_task_since, stage_since) ELSE NULL END, \
         no_task_source = CASE WHEN {NEEDS_TASK} THEN COALESCE(no_task_source, $1) ELSE NULL END \
         WHERE account_id = $2"
    ))
    .bind(crate::audit::SOURCE_UNKNOWN)
    .bind(account_id)
    .execute(executor)
    .await?;
    Ok(())
}

/// SQL: the lead (`leads` row in scope) is open and has no open task.
const NEEDS_TASK: &str = "is_deleted = 0 AND status_id NOT IN (142, 143) AND NOT EXISTS \
    (SELECT 1 FROM tasks t WHERE t.account_id = leads.account_id AND t.lead_id = leads.id)";

/// After a full scan `scan_id`: leads it did not list are deleted, tasks it did not list are no longer open.
pub async fn finish_full_scan(db: &Db, account_id: i64, scan_id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE leads SET is_deleted = 1 WHERE account_id = $1 AND scan_id < $2 AND is_deleted = 0",
    )
    .bind(account_id)
    .bind(scan_id)
    .execute(&db.pool)
    .await?;
    sqlx::query("DELETE FROM tasks WHERE account_id = $1 AND scan_id < $2")
        .bind(account_id)
        .bind(scan_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// A user of the account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub group_id: i64,
    pub lang: Option<String>,
    pub is_active: bool,
}

/// Replaces the account's users.
pub async fn replace_users(db: &Db, account_id: i64, users: &[UserRow]) -> Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM users WHERE account_id = $1")
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
    for user in users {
        sqlx::query(
            "INSERT INTO users (account_id, id, name, group_id, lang, is_active) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(account_id)
        .bind(user.id)
        .bind(&user.name)
        .bind(user.group_id)
        .bind(user.lang.as_deref())
        .bind(i64::from(user.is_active))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The account's users by id.
pub async fn users(db: &Db, account_id: i64) -> Result<HashMap<i64, UserRow>> {
    let rows = sqlx::query(
        "SELECT id, name, group_id, lang, is_active FROM users WHERE account_id = $1 ORDER BY id",
    )
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            let user = UserRow {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                group_id: row.try_get("group_id")?,
                lang: row.try_get("lang")?,
                is_active: row.try_get::<i64, _>("is_active")? != 0,
            };
            Ok((user.id, user))
        })
        .collect()
}

/// A stage with its pipeline's name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StageRow {
    pub pipeline_id: i64,
    pub status_id: i64,
    pub pipeline_name: String,
    pub name: String,
}

/// Replaces the account's stages and loss reasons.
pub async fn replace_stages_and_reasons(
    db: &Db,
    account_id: i64,
    stages: &[StageRow],
    reasons: &[(i64, String)],
) -> Result<()> {
    let mut tx = db.begin_write().await?;
    for table in ["stages", "loss_reasons"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE account_id = $1"))
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
    }
    for stage in stages {
        sqlx::query(
            "INSERT INTO stages (account_id, pipeline_id, status_id, pipeline_name, name) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
        )
        .bind(account_id)
        .bind(stage.pipeline_id)
        .bind(stage.status_id)
        .bind(&stage.pipeline_name)
        .bind(&stage.name)
        .execute(&mut *tx)
        .await?;
    }
    for (id, name) in reasons {
        sqlx::query("INSERT INTO loss_reasons (account_id, id, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(account_id)
            .bind(id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The account's stages by `(pipeline_id, status_id)`.
pub async fn stages(db: &Db, account_id: i64) -> Result<HashMap<(i64, i64), StageRow>> {
    let rows = sqlx::query(
        "SELECT pipeline_id, status_id, pipeline_name, name FROM stages WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            let stage = StageRow {
                pipeline_id: row.try_get("pipeline_id")?,
                status_id: row.try_get("status_id")?,
                pipeline_name: row.try_get("pipeline_name")?,
                name: row.try_get("name")?,
            };
            Ok(((stage.pipeline_id, stage.status_id), stage))
        })
        .collect()
}

/// The account's loss reasons as `(id, name)`.
pub async fn loss_reasons(db: &Db, account_id: i64) -> Result<Vec<(u64, String)>> {
    let rows = sqlx::query("SELECT id, name FROM loss_reasons WHERE account_id = $1 ORDER BY id")
        .bind(account_id)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get::<i64, _>("id")? as u64, row.try_get("name")?)))
        .collect()
}
