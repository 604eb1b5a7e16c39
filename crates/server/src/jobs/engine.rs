//! The job engine: workers that lease due jobs, keep their lease alive while running them and
//! record the outcome, plus the scheduler that enqueues each installed account's full scan,
//! reconciliation and automation pass, and purges old finished jobs and webhook events.

use std::sync::Arc;
use std::time::Duration;

use leakguard_core::ratelimit::backoff_ms;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tracing::Instrument as _;

use crate::accounts;
use crate::db::now_ms;
use crate::jobs::handlers::{
    self, JobContext, JobError, ACCOUNT_DELTA, ACCOUNT_SYNC, AUTOMATION_PASS,
};
use crate::jobs::queue::{self, Claimed, NewJob};
use crate::metrics::Metrics;

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub workers: usize,
    pub lease_ms: i64,
    pub poll_ms: u64,
    /// The reconciliation interval; 0 disables the whole schedule.
    pub sync_interval_ms: i64,
    pub full_scan_interval_ms: i64,
    pub automation_interval_ms: i64,
}

/// Finished jobs are kept this long (their dedup keys guard against re-enqueueing meanwhile).
pub const KEEP_DONE_JOBS_MS: i64 = 2 * 86_400_000;
/// Webhook events are kept this long: amoCRM's last retry comes within two hours (§11.3), so a
/// week of dedup keys is plenty.
pub const KEEP_WEBHOOK_EVENTS_MS: i64 = 7 * 86_400_000;
/// How often old jobs and events are purged.
const PURGE_EVERY_MS: i64 = 3_600_000;

/// Starts the workers and the scheduler; they stop when `shutdown` turns true, each after its current job.
/// With `workers == 0` nothing starts: the instance only serves HTTP (and enqueues).
pub fn start(
    ctx: JobContext,
    metrics: Metrics,
    config: EngineConfig,
    wake: Arc<Notify>,
    shutdown: watch::Receiver<bool>,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    let instance = uuid::Uuid::new_v4().simple().to_string();
    if config.workers == 0 {
        return set;
    }
    for index in 0..config.workers {
        let worker = Worker {
            owner: format!("{}-{index}", &instance[..12]),
            ctx: ctx.clone(),
            metrics: metrics.clone(),
            config: config.clone(),
            wake: wake.clone(),
        };
        set.spawn(worker.run(shutdown.clone()));
    }
    if config.sync_interval_ms > 0 {
        set.spawn(schedule(ctx, config, wake, shutdown));
    }
    set
}

struct Worker {
    owner: String,
    ctx: JobContext,
    metrics: Metrics,
    config: EngineConfig,
    wake: Arc<Notify>,
}

impl Worker {
    async fn run(self, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            let claimed =
                match queue::claim(&self.ctx.db, &self.owner, self.config.lease_ms, 1).await {
                    Ok(claimed) => claimed,
                    Err(error) => {
                        self.metrics.error("job_claim");
                        tracing::error!(%error, "claiming jobs failed");
                        Vec::new()
                    }
                };
            if claimed.is_empty() {
                tokio::select! {
                    _ = shutdown.changed() => {}
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(self.config.poll_ms)) => {}
                }
                continue;
            }
            for job in claimed {
                let span = tracing::info_span!("job", id = %job.id, kind = %job.kind, account_id = job.account_id, attempt = job.attempts);
                self.execute(job).instrument(span).await;
            }
        }
    }

    async fn execute(&self, job: Claimed) {
        if job.attempts > job.max_attempts {
            // A job whose lease expired again and again (a crash loop) stops here.
            self.record(&job, Err(JobError::Permanent("too many attempts".into())))
                .await;
            return;
        }
        let outcome = {
            let heartbeat = self.heartbeat(&job.id);
            let run = handlers::run(&self.ctx, job.account_id, &job.kind, &job.payload);
            tokio::pin!(run);
            tokio::select! {
                outcome = &mut run => outcome,
                lost = heartbeat => Err(lost),
            }
        };
        self.record(&job, outcome).await;
    }

    /// Renews the lease every third of its length; returns only when the lease was lost.
    async fn heartbeat(&self, id: &str) -> JobError {
        let period = Duration::from_millis((self.config.lease_ms / 3).max(100) as u64);
        loop {
            tokio::time::sleep(period).await;
            match queue::extend_lease(&self.ctx.db, id, &self.owner, self.config.lease_ms).await {
                Ok(true) => {}
                Ok(false) => return JobError::Retry("the lease was lost".into()),
                Err(error) => tracing::warn!(%error, "renewing a lease failed"),
            }
        }
    }

    async fn record(&self, job: &Claimed, outcome: Result<(), JobError>) {
        let db = &self.ctx.db;
        let result = match &outcome {
            Ok(()) => {
                self.metrics.job_finished(&job.kind, "done");
                queue::complete(db, &job.id, &self.owner).await
            }
            Err(JobError::Defer { after_ms, reason }) => {
                self.metrics.job_finished(&job.kind, "deferred");
                tracing::info!(after_ms, %reason, "job deferred");
                let run_at = now_ms().saturating_add(*after_ms as i64);
                queue::reschedule(db, &job.id, &self.owner, run_at, reason, true).await
            }
            Err(JobError::Retry(reason)) if job.attempts < job.max_attempts => {
                self.metrics.job_finished(&job.kind, "retry");
                self.metrics.error("job_retry");
                let delay = backoff_ms((job.attempts - 1).max(0) as u32, None);
                tracing::warn!(%reason, delay, "job failed; retrying");
                let run_at = now_ms().saturating_add(delay as i64);
                queue::reschedule(db, &job.id, &self.owner, run_at, reason, false).await
            }
            Err(error) => {
                self.metrics.job_finished(&job.kind, "failed");
                self.metrics.error("job_failed");
                tracing::error!(%error, "job failed for good");
                queue::fail(db, &job.id, &self.owner, &error.to_string()).await
            }
        };
        match result {
            Ok(true) => {}
            Ok(false) => tracing::warn!("the job's lease had passed to another worker"),
            Err(error) => tracing::error!(%error, "recording a job outcome failed"),
        }
    }
}

/// Enqueues, for every installed account, a full scan once per full-scan interval (the first one at
/// once), a reconciliation once per sync interval and an automation pass once per automation
/// interval. Dedup keys (account, kind and interval number) keep several instances from enqueueing
/// one twice.
async fn schedule(
    ctx: JobContext,
    config: EngineConfig,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let every = [
        (ACCOUNT_SYNC, config.full_scan_interval_ms.max(1)),
        (ACCOUNT_DELTA, config.sync_interval_ms.max(1)),
        (AUTOMATION_PASS, config.automation_interval_ms.max(1)),
    ];
    let mut last_purge = 0;
    while !*shutdown.borrow() {
        let now = now_ms();
        match accounts::installed(&ctx.db).await {
            Ok(installed) => {
                for account in installed {
                    for (kind, interval) in every {
                        let slot = now / interval;
                        let payload = serde_json::json!({ "requested_at": now });
                        let job = NewJob::now(account.account_id, kind, payload).dedup(format!(
                            "{kind}:{}:every:{interval}:{slot}",
                            account.account_id
                        ));
                        match queue::enqueue(&ctx.db.pool, &job).await {
                            Ok(true) => wake.notify_one(),
                            Ok(false) => {}
                            Err(error) => tracing::error!(%error, "scheduling a job failed"),
                        }
                    }
                }
            }
            Err(error) => tracing::error!(%error, "listing accounts failed"),
        }
        if now - last_purge >= PURGE_EVERY_MS {
            last_purge = now;
            if let Err(error) = queue::purge_done(&ctx.db, now - KEEP_DONE_JOBS_MS).await {
                tracing::warn!(%error, "purging finished jobs failed");
            }
            if let Err(error) =
                crate::webhook::purge_before(&ctx.db, now - KEEP_WEBHOOK_EVENTS_MS).await
            {
                tracing::warn!(%error, "purging old webhook events failed");
            }
        }
        let next = every
            .iter()
            .map(|(_, interval)| (now / interval + 1) * interval - now)
            .min()
            .unwrap_or(1000);
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(next.clamp(10, 60_000) as u64)) => {}
        }
    }
}
