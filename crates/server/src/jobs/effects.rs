//! Idempotent side effects in amoCRM: a retried job never creates a second task.
//!
//! Every effect has a marker (`leakguard_core::idempotency`), written into the task's text; the
//! account and the marker make its idempotency key. Before creating, the intent is written under
//! the key, leased to the worker; the created id is written after. A retry that finds a finished
//! key does nothing; one that finds a live lease waits; one that finds an expired intent (the
//! previous attempt died somewhere around the request) looks for the task by its marker and
//! creates it only when it is not there.

use amo_api::query::TasksQuery;
use amo_api::{NewTask, Saved, Task};
use leakguard_core::idempotency::{has_marker, with_marker};
use reqwest::Method;
use sqlx::Row;

use crate::amo::{AmoClient, AmoError};
use crate::db::{now_ms, Db};
use crate::jobs::handlers::JobError;

const INTENT: &str = "intent";
const DONE: &str = "done";

/// The idempotency key of the effect marked `marker` in `account_id`.
pub fn effect_key(account_id: i64, marker: &str) -> String {
    format!("{account_id}:{marker}")
}

/// What a previous attempt left under a key.
async fn recorded(db: &Db, key: &str) -> Result<Option<(String, Option<i64>)>, AmoError> {
    let row = sqlx::query("SELECT state, result_id FROM effects WHERE effect_key = $1")
        .bind(key)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row
        .map(|row| -> Result<_, sqlx::Error> {
            Ok((row.try_get("state")?, row.try_get("result_id")?))
        })
        .transpose()?)
}

/// Who carries out the effect now.
enum Claim {
    /// A new key: nobody tried before.
    Fresh,
    /// An earlier attempt left only its intent and its lease ran out: it may or may not have happened.
    TakenOver,
    /// It happened already; this is the created id.
    Done(u64),
    /// Another worker holds the lease right now.
    Busy,
}

async fn claim(
    db: &Db,
    account_id: i64,
    key: &str,
    kind: &str,
    lease_ms: i64,
) -> Result<Claim, AmoError> {
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO effects (effect_key, account_id, kind, state, created_at, updated_at, lease_until) \
         VALUES ($1, $2, $3, $4, $5, $5, $6) ON CONFLICT (effect_key) DO NOTHING",
    )
    .bind(key)
    .bind(account_id)
    .bind(kind)
    .bind(INTENT)
    .bind(now)
    .bind(now + lease_ms)
    .execute(&db.pool)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::Fresh);
    }
    if let Some((state, Some(id))) = recorded(db, key).await? {
        if state == DONE {
            return Ok(Claim::Done(id as u64));
        }
    }
    let taken = sqlx::query(
        "UPDATE effects SET lease_until = $1, updated_at = $2 \
         WHERE effect_key = $3 AND state = $4 AND lease_until < $2",
    )
    .bind(now + lease_ms)
    .bind(now)
    .bind(key)
    .bind(INTENT)
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(if taken == 1 {
        Claim::TakenOver
    } else {
        Claim::Busy
    })
}

async fn record_done(db: &Db, key: &str, result_id: i64) -> Result<(), AmoError> {
    sqlx::query(
        "UPDATE effects SET state = $1, result_id = $2, updated_at = $3 WHERE effect_key = $4",
    )
    .bind(DONE)
    .bind(result_id)
    .bind(now_ms())
    .bind(key)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Creates `task` (attached to a lead) at most once per `marker` in the account; returns the task id.
///
/// `lease_ms` must outlast one request to amoCRM, so that a worker waiting on the key never
/// takes over an effect whose request is still in flight.
pub async fn ensure_task(
    db: &Db,
    amo: &AmoClient,
    account_id: i64,
    marker: &str,
    lease_ms: i64,
    mut task: NewTask,
) -> Result<u64, JobError> {
    let key = &effect_key(account_id, marker);
    match claim(db, account_id, key, "task", lease_ms).await? {
        Claim::Done(id) => return Ok(id),
        Claim::Busy => {
            return Err(JobError::Defer {
                after_ms: 1000,
                reason: format!("effect {key} is being carried out by another worker"),
            })
        }
        Claim::TakenOver => {
            if let Some(id) = find_task(amo, account_id, task.entity_id, marker).await? {
                record_done(db, key, id as i64).await?;
                tracing::info!(
                    account_id,
                    key,
                    id,
                    "found the task of an interrupted attempt"
                );
                return Ok(id);
            }
        }
        Claim::Fresh => {}
    }
    task.text = with_marker(&task.text, marker);
    task.request_id = Some(marker.to_owned());
    let reply = amo
        .send(account_id, Method::POST, TasksQuery::PATH, Some(&[task]))
        .await?;
    let saved: amo_api::hal::Page<Saved<Task>> = reply.json()?;
    let id = saved
        .items
        .first()
        .map(|saved| saved.id)
        .ok_or_else(|| AmoError::Decode("the task answer lists no task".into()))?;
    record_done(db, key, id as i64).await?;
    Ok(id)
}

/// The id of a task of lead `lead_id` whose text carries `marker`, open or not.
async fn find_task(
    amo: &AmoClient,
    account_id: i64,
    lead_id: Option<u64>,
    marker: &str,
) -> Result<Option<u64>, AmoError> {
    let query = TasksQuery {
        entity_type: Some(amo_api::EntityType::Leads),
        entity_ids: lead_id.into_iter().collect(),
        limit: Some(amo_api::query::MAX_LIMIT),
        ..TasksQuery::default()
    };
    let tasks: Vec<Task> = amo
        .get_all(account_id, |page| {
            TasksQuery {
                page: Some(page),
                ..query.clone()
            }
            .to_path()
        })
        .await?;
    Ok(tasks
        .into_iter()
        .find(|task| has_marker(&task.text, marker))
        .map(|task| task.id))
}
