//! Named leases in the database, so that one thing (an account's automation pass) runs in one
//! worker of one instance at a time; an expired lease is free again.

use anyhow::Result;

use crate::db::{now_ms, Db};

/// Takes `name` for `owner` until `lease_ms` from now; false when someone else holds it.
pub async fn acquire(db: &Db, name: &str, owner: &str, lease_ms: i64) -> Result<bool> {
    let now = now_ms();
    let taken = sqlx::query(
        "INSERT INTO leases (name, owner, lease_until) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until \
         WHERE leases.lease_until < $4 OR leases.owner = excluded.owner",
    )
    .bind(name)
    .bind(owner)
    .bind(now + lease_ms)
    .bind(now)
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(taken == 1)
}

/// Gives `name` back if `owner` still holds it.
pub async fn release(db: &Db, name: &str, owner: &str) -> Result<()> {
    sqlx::query("DELETE FROM leases WHERE name = $1 AND owner = $2")
        .bind(name)
        .bind(owner)
        .execute(&db.pool)
        .await?;
    Ok(())
}
