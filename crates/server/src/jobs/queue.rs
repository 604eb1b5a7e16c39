//! The durable job queue in the `jobs` table: enqueue with an optional dedup key, lease-based
//! claiming (`FOR UPDATE SKIP LOCKED` on PostgreSQL, one atomic `UPDATE … RETURNING` on SQLite),
//! completion, rescheduling and failure, all guarded by the lease owner.

use anyhow::Result;
use serde_json::Value;
use sqlx::{Any, Row};

use crate::db::{now_ms, Db, Dialect};

/// A queued job waiting for `run_at`.
pub const QUEUED: &str = "queued";
/// A job leased by a worker until `lease_until`.
pub const RUNNING: &str = "running";
/// A finished job.
pub const DONE: &str = "done";
/// A job that used up its attempts or failed for good.
pub const FAILED: &str = "failed";

/// A job to enqueue.
#[derive(Clone, Debug, PartialEq)]
pub struct NewJob {
    pub account_id: i64,
    pub kind: String,
    pub payload: Value,
    /// Enqueue at most once per key; `None` never conflicts.
    pub dedup_key: Option<String>,
    /// Unix milliseconds.
    pub run_at: i64,
    pub max_attempts: i64,
}

impl NewJob {
    /// A job due now with the default of 8 attempts.
    pub fn now(account_id: i64, kind: &str, payload: Value) -> NewJob {
        NewJob {
            account_id,
            kind: kind.to_owned(),
            payload,
            dedup_key: None,
            run_at: now_ms(),
            max_attempts: 8,
        }
    }

    /// The same job, enqueued at most once per `key`.
    pub fn dedup(mut self, key: impl Into<String>) -> NewJob {
        self.dedup_key = Some(key.into());
        self
    }
}

/// A job leased by this worker.
#[derive(Clone, Debug, PartialEq)]
pub struct Claimed {
    pub id: String,
    pub account_id: i64,
    pub kind: String,
    pub payload: Value,
    /// Attempts including this one.
    pub attempts: i64,
    pub max_attempts: i64,
}

/// Enqueues a job (inside the caller's transaction or on the pool); false when its dedup key exists.
pub async fn enqueue<'e, E>(executor: E, job: &NewJob) -> Result<bool>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let now = now_ms();
    let done = sqlx::query(
        "INSERT INTO jobs (id, account_id, kind, payload, dedup_key, state, run_at, attempts, \
         max_attempts, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $9) \
         ON CONFLICT DO NOTHING",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(job.account_id)
    .bind(&job.kind)
    .bind(job.payload.to_string())
    .bind(job.dedup_key.as_deref())
    .bind(QUEUED)
    .bind(job.run_at)
    .bind(job.max_attempts)
    .bind(now)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Leases up to `limit` due jobs (queued and due, or running with an expired lease) of accounts
/// that are not paused, for `lease_ms`.
pub async fn claim(db: &Db, owner: &str, lease_ms: i64, limit: i64) -> Result<Vec<Claimed>> {
    let now = now_ms();
    let lock = match db.dialect {
        Dialect::Postgres => "FOR UPDATE OF j SKIP LOCKED",
        Dialect::Sqlite => "",
    };
    let sql = format!(
        "UPDATE jobs SET state = $1, lease_owner = $2, lease_until = $3, attempts = attempts + 1, \
         updated_at = $4 WHERE id IN (SELECT j.id FROM jobs j WHERE \
         ((j.state = $5 AND j.run_at <= $4) OR (j.state = $1 AND j.lease_until < $4)) \
         AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.account_id = j.account_id AND a.paused_until > $4) \
         ORDER BY j.run_at LIMIT $6 {lock}) \
         RETURNING id, account_id, kind, payload, attempts, max_attempts"
    );
    let rows = sqlx::query(&sql)
        .bind(RUNNING)
        .bind(owner)
        .bind(now + lease_ms)
        .bind(now)
        .bind(QUEUED)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|row| {
            let payload: String = row.try_get("payload")?;
            Ok(Claimed {
                id: row.try_get("id")?,
                account_id: row.try_get("account_id")?,
                kind: row.try_get("kind")?,
                payload: serde_json::from_str(&payload).unwrap_or(Value::Null),
                attempts: row.try_get("attempts")?,
                max_attempts: row.try_get("max_attempts")?,
            })
        })
        .collect()
}

/// Extends the lease of a running job; false when the lease was lost to another worker.
pub async fn extend_lease(db: &Db, id: &str, owner: &str, lease_ms: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND state = $4",
    )
    .bind(now_ms() + lease_ms)
    .bind(id)
    .bind(owner)
    .bind(RUNNING)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks the job done.
pub async fn complete(db: &Db, id: &str, owner: &str) -> Result<bool> {
    finish(db, id, owner, DONE, None).await
}

/// Marks the job failed for good with `error`.
pub async fn fail(db: &Db, id: &str, owner: &str, error: &str) -> Result<bool> {
    finish(db, id, owner, FAILED, Some(error)).await
}

async fn finish(db: &Db, id: &str, owner: &str, state: &str, error: Option<&str>) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET state = $1, last_error = $2, lease_owner = NULL, lease_until = NULL, \
         updated_at = $3 WHERE id = $4 AND lease_owner = $5 AND state = $6",
    )
    .bind(state)
    .bind(error)
    .bind(now_ms())
    .bind(id)
    .bind(owner)
    .bind(RUNNING)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Puts the job back in the queue for `run_at`; `refund` gives the attempt back (rate limits and
/// pauses are not the job's fault).
pub async fn reschedule(
    db: &Db,
    id: &str,
    owner: &str,
    run_at: i64,
    error: &str,
    refund: bool,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET state = $1, run_at = $2, last_error = $3, lease_owner = NULL, \
         lease_until = NULL, attempts = attempts - $4, updated_at = $5 \
         WHERE id = $6 AND lease_owner = $7 AND state = $8",
    )
    .bind(QUEUED)
    .bind(run_at)
    .bind(error)
    .bind(i64::from(refund))
    .bind(now_ms())
    .bind(id)
    .bind(owner)
    .bind(RUNNING)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes finished jobs last updated before `before_ms`.
pub async fn purge_done(db: &Db, before_ms: i64) -> Result<u64> {
    let done = sqlx::query("DELETE FROM jobs WHERE state = $1 AND updated_at < $2")
        .bind(DONE)
        .bind(before_ms)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected())
}

/// Job counts by state, for metrics.
pub async fn counts_by_state(db: &Db) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state ORDER BY state")
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("state")?, row.try_get("n")?)))
        .collect()
}

/// A job's state and attempts, for tests and the account API.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct JobView {
    pub id: String,
    pub kind: String,
    pub state: String,
    pub attempts: i64,
    pub run_at: i64,
    pub last_error: Option<String>,
}

/// The most recent jobs of one account.
pub async fn recent_of_account(db: &Db, account_id: i64, limit: i64) -> Result<Vec<JobView>> {
    let rows = sqlx::query(
        "SELECT id, kind, state, attempts, run_at, last_error FROM jobs WHERE account_id = $1 \
         ORDER BY id DESC LIMIT $2",
    )
    .bind(account_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(JobView {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                state: row.try_get("state")?,
                attempts: row.try_get("attempts")?,
                run_at: row.try_get("run_at")?,
                last_error: row.try_get("last_error")?,
            })
        })
        .collect()
}
