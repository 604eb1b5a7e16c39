//! What each job kind does. Webhooks update the synced copy without a request; scans read amoCRM
//! within the budget; the automation pass decides from the copy and acts idempotently.

use std::sync::Arc;

use amo_api::NewTask;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Notify;

use crate::amo::{AmoClient, AmoError};
use crate::clock::Clock;
use crate::db::{now_ms, Db};
use crate::jobs::effects;
use crate::jobs::queue::{self, NewJob};
use crate::webhook::parser::{Action, Entity, Event};
use crate::{automation, payments, sync};

/// A webhook event to apply to the copy; the payload is the parsed [`Event`].
pub const WEBHOOK_EVENT: &str = "webhook.event";
/// Creates one task at most once; payload [`TaskJob`].
pub const TASK_CREATE: &str = "task.create";
/// The full scan of an account (resumable); payload `{}`.
pub const ACCOUNT_SYNC: &str = "account.sync";
/// The reconciliation by `updated_at` since the last one; payload `{}`.
pub const ACCOUNT_DELTA: &str = "account.delta";
/// One automation pass over the account's copy; payload `{}`.
pub const AUTOMATION_PASS: &str = "automation.pass";
/// Re-reads one deal's payment records (two requests); payload [`LeadJob`].
pub const PAYMENTS_LEAD: &str = "payments.lead";

/// Reads the whole payments catalog (pages of 250); payload `{}`.
pub const PAYMENTS_CATALOG: &str = "payments.catalog";

/// The deal a `payments.lead` job re-reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadJob {
    pub lead_id: u64,
}

/// The task a `task.create` job creates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskJob {
    pub lead_id: u64,
    pub text: String,
    pub complete_till: i64,
    /// A `leakguard_core::idempotency` marker: one task per marker, whatever the number of attempts.
    pub marker: String,
}

/// What a handler needs.
#[derive(Clone, Debug)]
pub struct JobContext {
    pub db: Db,
    pub amo: AmoClient,
    /// The business clock the rules read.
    pub clock: Clock,
    /// How long a worker holds an effect's idempotency key (the job lease).
    pub effect_lease_ms: i64,
    /// The widget's code in amoCRM (to read its saved settings).
    pub widget_code: String,
    /// Where amoCRM should send webhooks.
    pub webhook_destination: String,
    /// See `Config::lost_settle_seconds`.
    pub lost_settle_seconds: i64,
    /// See `Config::delta_debounce_ms`.
    pub delta_debounce_ms: i64,
    /// Wakes idle workers when a job was enqueued.
    pub wake: Arc<Notify>,
    pub metrics: crate::metrics::Metrics,
}

/// Why a handler stopped.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Try again later at no cost of an attempt (rate limit, paused account).
    #[error("deferred for {after_ms} ms: {reason}")]
    Defer { after_ms: u64, reason: String },
    /// Try again with back-off, counting the attempt.
    #[error("{0}")]
    Retry(String),
    /// Never retry.
    #[error("{0}")]
    Permanent(String),
}

impl From<AmoError> for JobError {
    fn from(error: AmoError) -> JobError {
        match error {
            AmoError::RateLimited { retry_after_ms } => JobError::Defer {
                after_ms: retry_after_ms,
                reason: error.to_string(),
            },
            AmoError::Paused { until } => JobError::Defer {
                after_ms: (until - now_ms()).max(1000) as u64,
                reason: error.to_string(),
            },
            AmoError::Banned => JobError::Defer {
                after_ms: crate::amo::BAN_PAUSE_MS as u64,
                reason: error.to_string(),
            },
            AmoError::NotInstalled(_) | AmoError::Unauthorized(_) | AmoError::Forbidden { .. } => {
                JobError::Permanent(error.to_string())
            }
            AmoError::Status { status, .. } if (400..500).contains(&status) && status != 404 => {
                JobError::Permanent(error.to_string())
            }
            _ => JobError::Retry(error.to_string()),
        }
    }
}

fn payload<T: for<'de> Deserialize<'de>>(value: &Value) -> Result<T, JobError> {
    serde_json::from_value(value.clone())
        .map_err(|error| JobError::Permanent(format!("bad job payload: {error}")))
}

/// Enqueues `kind` for the account to run within `delay_ms`; jobs asked for in the same window share one.
pub async fn enqueue_soon(
    db: &Db,
    wake: &Notify,
    account_id: i64,
    kind: &str,
    delay_ms: i64,
) -> anyhow::Result<()> {
    let window = delay_ms.max(1);
    let slot = now_ms() / window;
    let mut job = NewJob::now(account_id, kind, serde_json::json!({}))
        .dedup(format!("{kind}:{account_id}:soon:{window}:{slot}"));
    job.run_at = (slot + 1) * window;
    if queue::enqueue(&db.pool, &job).await? {
        wake.notify_one();
    }
    Ok(())
}

/// Enqueues a re-read of one deal's payments within `delay_ms`; webhooks about the deal within the
/// same window share one.
pub async fn enqueue_lead_payments(
    db: &Db,
    wake: &Notify,
    account_id: i64,
    lead_id: u64,
    delay_ms: i64,
) -> anyhow::Result<()> {
    let window = delay_ms.max(1);
    let slot = now_ms() / window;
    let payload = serde_json::to_value(LeadJob { lead_id })?;
    let mut job = NewJob::now(account_id, PAYMENTS_LEAD, payload).dedup(format!(
        "{PAYMENTS_LEAD}:{account_id}:{lead_id}:{window}:{slot}"
    ));
    job.run_at = (slot + 1) * window;
    if queue::enqueue(&db.pool, &job).await? {
        wake.notify_one();
    }
    Ok(())
}

/// Runs one job of `kind` for `account_id`.
pub async fn run(
    ctx: &JobContext,
    account_id: i64,
    kind: &str,
    value: &Value,
) -> Result<(), JobError> {
    let soon = |kind: &'static str, delay_ms: i64| async move {
        enqueue_soon(&ctx.db, &ctx.wake, account_id, kind, delay_ms)
            .await
            .map_err(|error| JobError::Retry(error.to_string()))
    };
    match kind {
        WEBHOOK_EVENT => {
            let event: Event = payload(value)?;
            let lead = sync::apply_event(ctx, account_id, &event)
                .await
                .map_err(|error| JobError::Retry(error.to_string()))?;
            let payments_note = event.action == Action::Note;
            // A deal's webhook may mean its payments changed (the card adds a note and links an
            // element with every change): re-read them when the account keeps payments.
            if let (Some(lead_id), Entity::Lead) = (lead, event.entity) {
                let settings = crate::account_settings::load(&ctx.db, account_id)
                    .await
                    .map_err(|error| JobError::Retry(error.to_string()))?;
                if payments::store_of(&settings).is_some() {
                    enqueue_lead_payments(
                        &ctx.db,
                        &ctx.wake,
                        account_id,
                        lead_id as u64,
                        ctx.delta_debounce_ms,
                    )
                    .await
                    .map_err(|error| JobError::Retry(error.to_string()))?;
                }
            }
            if payments_note {
                // The note changed nothing in the copy: the payments re-read starts the pass.
                return Ok(());
            }
            // Act on what the hook said at once, and confirm it from the API shortly after.
            soon(AUTOMATION_PASS, 500).await?;
            soon(ACCOUNT_DELTA, ctx.delta_debounce_ms).await
        }
        TASK_CREATE => {
            let job: TaskJob = payload(value)?;
            let task = NewTask::for_lead(job.lead_id, job.text, job.complete_till);
            effects::ensure_task(
                &ctx.db,
                &ctx.amo,
                account_id,
                &job.marker,
                ctx.effect_lease_ms,
                task,
            )
            .await?;
            Ok(())
        }
        ACCOUNT_SYNC => {
            let requested = value.get("requested_at").and_then(Value::as_i64);
            sync::full_scan(ctx, account_id, requested).await?;
            soon(AUTOMATION_PASS, 1).await
        }
        ACCOUNT_DELTA => {
            sync::delta_scan(ctx, account_id).await?;
            soon(AUTOMATION_PASS, 1).await
        }
        AUTOMATION_PASS => automation::pass(ctx, account_id).await,
        PAYMENTS_LEAD => {
            let job: LeadJob = payload(value)?;
            let env = crate::automation::env::AccountEnv::load(&ctx.db, account_id)
                .await
                .map_err(|error| JobError::Retry(error.to_string()))?;
            if let Some(store) = payments::store_of(&env.settings) {
                payments::read_lead(ctx, &env.account, &store, &env.zone, job.lead_id).await?;
                soon(AUTOMATION_PASS, 1).await?;
            }
            Ok(())
        }
        PAYMENTS_CATALOG => {
            payments::read_catalog(ctx, account_id).await?;
            soon(AUTOMATION_PASS, 1).await
        }
        other => Err(JobError::Permanent(format!("unknown job kind {other:?}"))),
    }
}
