//! Idempotent side effects in amoCRM: a retried job never creates a second task, note or copy.
//!
//! Every effect has a marker (`leakguard_core::idempotency`), written into the task's or note's
//! text; the account, the kind and the marker make its idempotency key. Before creating, the intent
//! is written under the key, leased to the worker; the created id is written after. A retry that
//! finds a finished key does nothing; one that finds a live lease waits; one that finds an expired
//! intent (the previous attempt died somewhere around the request) looks for the object by its
//! marker and creates it only when it is not there. Composite actions (a whole refusal plan) use
//! the same keys through [`begin`] and [`finish`].

use amo_api::query::{LeadsQuery, TasksQuery, TimeRange, MAX_LIMIT};
use amo_api::{Lead, NewLead, NewNote, NewTask, Note, Saved, Task};
use leakguard_core::idempotency::{has_marker, with_marker};
use reqwest::Method;
use sqlx::Row;

use crate::amo::{AmoClient, AmoError};
use crate::db::{now_ms, Db};
use crate::jobs::handlers::JobError;

const INTENT: &str = "intent";
const DONE: &str = "done";

/// The idempotency key of the task marked `marker` in `account_id`.
pub fn effect_key(account_id: i64, marker: &str) -> String {
    format!("{account_id}:{marker}")
}

/// The idempotency key of another kind of effect (`note`, `copy`, `lost`, …) marked `marker`.
pub fn kind_key(account_id: i64, kind: &str, marker: &str) -> String {
    format!("{account_id}:{kind}:{marker}")
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// A new key: nobody tried before.
    Fresh,
    /// An earlier attempt left only its intent and its lease ran out: it may or may not have happened.
    TakenOver,
    /// It happened already; this is the created id.
    Done(u64),
    /// Another worker holds the lease right now.
    Busy,
}

/// Claims the effect under `key` for `lease_ms`.
pub async fn claim(
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

/// Records the effect under `key` as done with the created id.
pub async fn record_done(db: &Db, key: &str, result_id: i64) -> Result<(), AmoError> {
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

/// Records an object found in amoCRM (created by the card, or by an attempt whose answer was lost
/// but whose webhook arrived) as the effect under `key`; returns whether an attempt of ours had
/// claimed the key before.
pub async fn adopt(
    db: &Db,
    account_id: i64,
    key: &str,
    kind: &str,
    result_id: i64,
) -> Result<bool, AmoError> {
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO effects (effect_key, account_id, kind, state, result_id, created_at, updated_at, lease_until) \
         VALUES ($1, $2, $3, $4, $5, $6, $6, $6) ON CONFLICT (effect_key) DO NOTHING",
    )
    .bind(key)
    .bind(account_id)
    .bind(kind)
    .bind(DONE)
    .bind(result_id)
    .bind(now)
    .execute(&db.pool)
    .await?
    .rows_affected();
    if inserted == 0 {
        record_done(db, key, result_id).await?;
    }
    Ok(inserted == 0)
}

/// Starts a composite effect under `key`: `None` when it is done already, an error to defer while
/// another worker holds it, else the claim (fresh or taken over) to carry it out.
pub async fn begin(
    db: &Db,
    account_id: i64,
    key: &str,
    kind: &str,
    lease_ms: i64,
) -> Result<Option<Claim>, JobError> {
    match claim(db, account_id, key, kind, lease_ms).await? {
        Claim::Done(_) => Ok(None),
        Claim::Busy => Err(busy(key)),
        claim => Ok(Some(claim)),
    }
}

/// Finishes a composite effect.
pub async fn finish(db: &Db, key: &str, result_id: i64) -> Result<(), JobError> {
    Ok(record_done(db, key, result_id).await?)
}

fn busy(key: &str) -> JobError {
    JobError::Defer {
        after_ms: 1000,
        reason: format!("effect {key} is being carried out by another worker"),
    }
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
        Claim::Busy => return Err(busy(key)),
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
    if !has_marker(&task.text, marker) {
        task.text = with_marker(&task.text, marker);
    }
    task.request_id = Some(marker.to_owned());
    let reply = amo
        .send(account_id, Method::POST, TasksQuery::PATH, Some(&[task]))
        .await?;
    let id = first_id::<Task>(&reply)?;
    record_done(db, key, id as i64).await?;
    Ok(id)
}

/// Adds a common note with `text` (which carries `marker`) to lead `lead_id` at most once per
/// marker and lead; returns the note id.
pub async fn ensure_note(
    db: &Db,
    amo: &AmoClient,
    account_id: i64,
    lead_id: u64,
    marker: &str,
    lease_ms: i64,
    text: &str,
) -> Result<u64, JobError> {
    let key = &kind_key(account_id, &format!("note{lead_id}"), marker);
    match claim(db, account_id, key, "note", lease_ms).await? {
        Claim::Done(id) => return Ok(id),
        Claim::Busy => return Err(busy(key)),
        Claim::TakenOver => {
            if let Some(id) = find_note(amo, account_id, lead_id, marker).await? {
                record_done(db, key, id as i64).await?;
                return Ok(id);
            }
        }
        Claim::Fresh => {}
    }
    let text = if has_marker(text, marker) {
        text.to_owned()
    } else {
        with_marker(text, marker)
    };
    let mut note = NewNote::common(text).for_lead(lead_id);
    note.request_id = Some(marker.to_owned());
    let reply = amo
        .send(
            account_id,
            Method::POST,
            "/api/v4/leads/notes",
            Some(&[note]),
        )
        .await?;
    let id = first_id::<Note>(&reply)?;
    record_done(db, key, id as i64).await?;
    Ok(id)
}

/// How to recognise a copy of a lost deal that an earlier attempt may have created.
#[derive(Clone, Debug)]
pub struct CopyLookup {
    pub pipeline_id: u32,
    pub name: String,
    pub created_from: i64,
    pub tag: String,
}

/// Creates `lead` (a lost deal's copy in the refusal pipeline) at most once per `marker`; returns its id.
pub async fn ensure_copy(
    db: &Db,
    amo: &AmoClient,
    account_id: i64,
    marker: &str,
    lease_ms: i64,
    lead: NewLead,
    lookup: &CopyLookup,
) -> Result<u64, JobError> {
    let key = &kind_key(account_id, "copy", marker);
    match claim(db, account_id, key, "copy", lease_ms).await? {
        Claim::Done(id) => return Ok(id),
        Claim::Busy => return Err(busy(key)),
        Claim::TakenOver => {
            if let Some(id) = find_copy(amo, account_id, lookup).await? {
                record_done(db, key, id as i64).await?;
                return Ok(id);
            }
        }
        Claim::Fresh => {}
    }
    let reply = amo
        .send(account_id, Method::POST, LeadsQuery::PATH, Some(&[lead]))
        .await?;
    let id = first_id::<Lead>(&reply)?;
    record_done(db, key, id as i64).await?;
    Ok(id)
}

/// The id of the first item of a write answer.
fn first_id<E: amo_api::Collection>(reply: &crate::amo::Reply) -> Result<u64, AmoError> {
    let saved: amo_api::hal::Page<Saved<E>> = reply.json()?;
    saved
        .items
        .first()
        .map(|saved| saved.id)
        .ok_or_else(|| AmoError::Decode(format!("the answer lists no {}", E::KEY)))
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
        limit: Some(MAX_LIMIT),
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

/// Every task of lead `lead_id`, open or not.
pub async fn tasks_of_lead(
    amo: &AmoClient,
    account_id: i64,
    lead_id: u64,
) -> Result<Vec<Task>, AmoError> {
    let query = TasksQuery {
        entity_type: Some(amo_api::EntityType::Leads),
        entity_ids: vec![lead_id],
        limit: Some(MAX_LIMIT),
        ..TasksQuery::default()
    };
    amo.get_all(account_id, |page| {
        TasksQuery {
            page: Some(page),
            ..query.clone()
        }
        .to_path()
    })
    .await
}

/// The id of a note of lead `lead_id` whose text carries `marker`.
async fn find_note(
    amo: &AmoClient,
    account_id: i64,
    lead_id: u64,
    marker: &str,
) -> Result<Option<u64>, AmoError> {
    let notes: Vec<Note> = amo
        .get_all(account_id, |page| {
            format!("/api/v4/leads/{lead_id}/notes?limit={MAX_LIMIT}&page={page}")
        })
        .await?;
    Ok(notes
        .into_iter()
        .find(|note| note.text().is_some_and(|text| has_marker(text, marker)))
        .map(|note| note.id))
}

/// The id of a lead in the copy's pipeline with the copy's name and tag, created since the refusal.
async fn find_copy(
    amo: &AmoClient,
    account_id: i64,
    lookup: &CopyLookup,
) -> Result<Option<u64>, AmoError> {
    let query = LeadsQuery {
        pipeline_ids: vec![lookup.pipeline_id],
        created_at: TimeRange {
            from: Some(lookup.created_from),
            to: None,
        },
        limit: Some(MAX_LIMIT),
        ..LeadsQuery::default()
    };
    let leads: Vec<Lead> = amo
        .get_all(account_id, |page| {
            LeadsQuery {
                page: Some(page),
                ..query.clone()
            }
            .to_path()
        })
        .await?;
    // Filters may be ignored (§1.4), so every condition is checked here.
    Ok(leads
        .into_iter()
        .find(|lead| {
            lead.pipeline_id == lookup.pipeline_id
                && lead.created_at >= lookup.created_from
                && lead.name == lookup.name
                && lead
                    .embedded
                    .tags
                    .iter()
                    .any(|tag| tag.name.eq_ignore_ascii_case(&lookup.tag))
        })
        .map(|lead| lead.id))
}
