//! The per-account request limit shared by every worker of every instance.
//!
//! The window itself is `leakguard_core::ratelimit::SlidingWindow`; its recent grant times live in
//! the `rate_windows` row of the account, read and written inside one transaction that first takes
//! the row's write lock, so instances over one database share the budget. A 429 sets
//! `blocked_until`, which every caller then waits for.
//!
//! amoCRM counts a request when it arrives, which is some time after the slot was granted here.
//! So once the answer is in, [`RateLimiter::settle`] moves the slot's time to the answer's time,
//! an upper bound of the arrival: later grants then keep a full window away from the real arrival.

use std::time::Duration;

use anyhow::Result;
use leakguard_core::ratelimit::SlidingWindow;
use sqlx::Row;

use crate::db::{now_ms, Db};

/// Added to the one-second window so that network jitter between taking a slot here and the
/// request's arrival at amoCRM cannot squeeze one request too many into amoCRM's second.
pub const SAFETY_MARGIN_MS: u64 = 100;

/// Hands out request slots so that no account gets more than `max` requests in any `window_ms`.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    db: Db,
    max: u32,
    window_ms: u64,
}

/// What one attempt to take a slot found.
enum Slot {
    Granted,
    Wait(u64),
}

impl RateLimiter {
    /// A limiter allowing `per_second` requests per second per account.
    pub fn new(db: Db, per_second: u32) -> RateLimiter {
        RateLimiter {
            db,
            max: per_second.max(1),
            window_ms: 1000 + SAFETY_MARGIN_MS,
        }
    }

    /// Waits until the account may send one more request, then records it; returns the slot's time.
    pub async fn acquire(&self, account_id: i64) -> Result<u64> {
        loop {
            let now = now_ms().max(0) as u64;
            match self.try_acquire(account_id, now as i64).await? {
                Slot::Granted => return Ok(now),
                Slot::Wait(ms) => tokio::time::sleep(Duration::from_millis(ms.max(1))).await,
            }
        }
    }

    /// Moves the slot granted at `granted_at` to `answered_at`, when the request's answer came.
    pub async fn settle(&self, account_id: i64, granted_at: u64, answered_at: u64) -> Result<()> {
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("UPDATE rate_windows SET grants = grants WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        let grants: String = sqlx::query("SELECT grants FROM rate_windows WHERE account_id = $1")
            .bind(account_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("grants")?;
        let mut recent = parse_grants(&grants);
        if let Some(slot) = recent.iter_mut().find(|time| **time == granted_at) {
            *slot = answered_at.max(granted_at);
            recent.sort_unstable();
            sqlx::query("UPDATE rate_windows SET grants = $1 WHERE account_id = $2")
                .bind(format_grants(&recent))
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Blocks the account's requests until `until_ms` (after a 429), never shortening a longer block.
    pub async fn block_until(&self, account_id: i64, until_ms: i64) -> Result<()> {
        self.ensure_row(account_id).await?;
        sqlx::query(
            "UPDATE rate_windows SET blocked_until = $1 WHERE account_id = $2 AND blocked_until < $1",
        )
        .bind(until_ms)
        .bind(account_id)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    async fn ensure_row(&self, account_id: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO rate_windows (account_id, grants, blocked_until) VALUES ($1, '', 0) \
             ON CONFLICT (account_id) DO NOTHING",
        )
        .bind(account_id)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    async fn try_acquire(&self, account_id: i64, now: i64) -> Result<Slot> {
        self.ensure_row(account_id).await?;
        let mut tx = self.db.pool.begin().await?;
        // A no-op write first: it takes the row lock on PostgreSQL and the write lock on SQLite,
        // so the read below cannot race another instance's read-modify-write.
        sqlx::query("UPDATE rate_windows SET grants = grants WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        let row =
            sqlx::query("SELECT grants, blocked_until FROM rate_windows WHERE account_id = $1")
                .bind(account_id)
                .fetch_one(&mut *tx)
                .await?;
        let grants: String = row.try_get("grants")?;
        let blocked_until: i64 = row.try_get("blocked_until")?;
        if blocked_until > now {
            tx.rollback().await?;
            return Ok(Slot::Wait((blocked_until - now) as u64));
        }
        let mut recent = parse_grants(&grants);
        let mut window = SlidingWindow::new(self.max, self.window_ms);
        for &granted in &recent {
            // Replaying at most `max` sorted times rebuilds the window exactly: none is refused.
            let _ = window.try_acquire(granted);
        }
        match window.try_acquire(now.max(0) as u64) {
            Ok(()) => {
                recent.push(now.max(0) as u64);
                let keep = recent.len().saturating_sub(self.max as usize);
                let grants = format_grants(&recent[keep..]);
                sqlx::query("UPDATE rate_windows SET grants = $1 WHERE account_id = $2")
                    .bind(grants)
                    .bind(account_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Slot::Granted)
            }
            Err(wait) => {
                tx.rollback().await?;
                Ok(Slot::Wait(wait))
            }
        }
    }
}

fn parse_grants(text: &str) -> Vec<u64> {
    let mut times: Vec<u64> = text
        .split(',')
        .filter_map(|part| part.parse().ok())
        .collect();
    times.sort_unstable();
    times
}

fn format_grants(times: &[u64]) -> String {
    times
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    async fn sqlite_db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let db = Db::connect(&config).await.unwrap();
        (dir, db)
    }

    #[tokio::test]
    async fn the_bucket_never_grants_more_than_max_per_second_across_tasks() {
        let (_dir, db) = sqlite_db().await;
        let limiter = RateLimiter::new(db, 7);
        let start = now_ms();
        let mut handles = Vec::new();
        for _ in 0..6 {
            let limiter = limiter.clone();
            handles.push(tokio::spawn(async move {
                let mut times = Vec::new();
                for _ in 0..4 {
                    limiter.acquire(1).await.unwrap();
                    times.push(now_ms());
                }
                times
            }));
        }
        let mut times = Vec::new();
        for handle in handles {
            times.extend(handle.await.unwrap());
        }
        times.sort_unstable();
        assert_eq!(times.len(), 24);
        for group in times.windows(8) {
            assert!(
                group[7] - group[0] >= 1000,
                "8 grants within a second: {group:?}"
            );
        }
        // 24 grants at 7 per second need at least three full windows.
        assert!(times[23] - start >= 3000);
        // Another account has its own budget.
        let before = now_ms();
        for _ in 0..7 {
            limiter.acquire(2).await.unwrap();
        }
        assert!(now_ms() - before < 900);
    }

    #[tokio::test]
    async fn a_settled_slot_counts_from_its_answer() {
        let (_dir, db) = sqlite_db().await;
        let limiter = RateLimiter::new(db, 1);
        let first = limiter.acquire(4).await.unwrap();
        // The request's answer came 500 ms after its slot: the next slot waits a window from then.
        limiter.settle(4, first, first + 500).await.unwrap();
        limiter.acquire(4).await.unwrap();
        assert!(now_ms() as u64 >= first + 500 + 1000 + SAFETY_MARGIN_MS);
    }

    #[tokio::test]
    async fn a_block_delays_the_next_grant() {
        let (_dir, db) = sqlite_db().await;
        let limiter = RateLimiter::new(db, 7);
        let until = now_ms() + 600;
        limiter.block_until(3, until).await.unwrap();
        limiter.acquire(3).await.unwrap();
        assert!(now_ms() >= until);
    }
}
