//! What each job kind does. Handlers act on the current state fetched from amoCRM, not on the
//! webhook's copy, so duplicate and out-of-order deliveries converge on the same result.

use amo_api::query::{LeadsQuery, TimeRange, MAX_LIMIT};
use amo_api::{Lead, NewTask, STATUS_LOST};
use leakguard_core::dates::{deadline_after, Calendar, FixedOffset, UtcOffset};
use leakguard_core::idempotency::{marker, MarkerKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::accounts;
use crate::amo::{AmoClient, AmoError};
use crate::db::{now_ms, Db};
use crate::jobs::effects;
use crate::jobs::queue::{self, NewJob};
use crate::webhook::parser::{Action, Event};

/// A webhook event to process; the payload is the parsed [`Event`].
pub const WEBHOOK_EVENT: &str = "webhook.event";
/// Re-reads a lead and applies the rules to it; payload `{"lead_id": …}`.
pub const LEAD_RECONCILE: &str = "lead.reconcile";
/// Creates one task at most once; payload [`TaskJob`].
pub const TASK_CREATE: &str = "task.create";
/// Refreshes what the server knows about the account (subdomain, time zone) and scans for lost
/// deals the webhooks may have missed; payload `{}`.
pub const ACCOUNT_SYNC: &str = "account.sync";

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
    pub follow_up_days: u32,
    /// How long a worker holds an effect's idempotency key (the job lease).
    pub effect_lease_ms: i64,
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
            AmoError::NotInstalled(_) | AmoError::Unauthorized(_) => {
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

/// Runs one job of `kind` for `account_id`.
pub async fn run(
    ctx: &JobContext,
    account_id: i64,
    kind: &str,
    value: &Value,
) -> Result<(), JobError> {
    match kind {
        WEBHOOK_EVENT => {
            let event: Event = payload(value)?;
            match event_lead(&event) {
                Some(lead_id) => reconcile_lead(ctx, account_id, lead_id).await,
                None => Ok(()),
            }
        }
        LEAD_RECONCILE => {
            #[derive(Deserialize)]
            struct Payload {
                lead_id: u64,
            }
            let Payload { lead_id } = payload(value)?;
            reconcile_lead(ctx, account_id, lead_id).await
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
        ACCOUNT_SYNC => sync_account(ctx, account_id).await,
        other => Err(JobError::Permanent(format!("unknown job kind {other:?}"))),
    }
}

/// The lead an event is about, if acting on it can change anything.
fn event_lead(event: &Event) -> Option<u64> {
    use crate::webhook::parser::Entity;
    match (event.entity, event.action) {
        // A deleted lead needs nothing; its follow-up, if any, is amoCRM's to remove.
        (Entity::Lead, Action::Delete) => None,
        (Entity::Lead, _) => u64::try_from(event.id).ok(),
        (Entity::Task, _) => event.lead_id.and_then(|id| u64::try_from(id).ok()),
    }
}

/// Applies LeakGuard's rule for deals closed outside the card: a lead that is lost and has no
/// open task gets one follow-up task, `follow_up_days` working days later at 10:00 account time.
pub async fn reconcile_lead(
    ctx: &JobContext,
    account_id: i64,
    lead_id: u64,
) -> Result<(), JobError> {
    let path = format!("{}/{lead_id}", LeadsQuery::PATH);
    let Some(lead) = ctx.amo.get::<Lead>(account_id, &path).await? else {
        return Ok(());
    };
    if !needs_follow_up(&lead) {
        return Ok(());
    }
    let account = accounts::get(&ctx.db, account_id)
        .await
        .map_err(|error| JobError::Retry(error.to_string()))?;
    let timezone = account.and_then(|account| account.timezone);
    let tz = AccountZone::new(timezone.as_deref());
    let complete_till = deadline_after(
        now_ms() / 1000,
        ctx.follow_up_days,
        10,
        0,
        &tz,
        &Calendar::russian(),
    );
    // One follow-up per loss, marked like a refusal made in the card: a lead lost again later
    // (closed_at changes) gets a new one.
    let marker = marker(
        MarkerKind::Refusal,
        lead_id,
        lead.closed_at.unwrap_or(lead.updated_at),
    );
    let task = NewTask::for_lead(lead_id, format!("Follow up: {}", lead.name), complete_till);
    effects::ensure_task(
        &ctx.db,
        &ctx.amo,
        account_id,
        &marker,
        ctx.effect_lease_ms,
        task,
    )
    .await?;
    Ok(())
}

/// How far back the first scan of an account looks for lost deals.
pub const FIRST_SCAN_SECONDS: i64 = 7 * 86_400;
/// How much each later scan overlaps the previous one, for clock skew and slow writes.
pub const SCAN_OVERLAP_SECONDS: i64 = 300;

/// Reads the account's subdomain and time zone, then queues a reconcile of every deal lost since
/// the last scan that has no open task: webhooks can be lost after amoCRM's last retry.
async fn sync_account(ctx: &JobContext, account_id: i64) -> Result<(), JobError> {
    let started = now_ms();
    let internal = |error: anyhow::Error| JobError::Retry(error.to_string());
    let Some(account) = ctx
        .amo
        .get::<amo_api::Account>(account_id, "/api/v4/account?with=datetime_settings")
        .await?
    else {
        return Ok(());
    };
    let timezone = account
        .embedded
        .datetime_settings
        .map(|settings| settings.timezone)
        .filter(|timezone| !timezone.is_empty());
    let subdomain = Some(account.subdomain).filter(|subdomain| !subdomain.is_empty());
    accounts::update_details(
        &ctx.db,
        account_id,
        subdomain.as_deref(),
        timezone.as_deref(),
    )
    .await
    .map_err(internal)?;

    let from = match accounts::synced_at(&ctx.db, account_id)
        .await
        .map_err(internal)?
    {
        Some(last) => last / 1000 - SCAN_OVERLAP_SECONDS,
        None => started / 1000 - FIRST_SCAN_SECONDS,
    };
    let query = LeadsQuery {
        closed_at: TimeRange {
            from: Some(from),
            to: None,
        },
        limit: Some(MAX_LIMIT),
        ..LeadsQuery::default()
    };
    let leads: Vec<Lead> = ctx
        .amo
        .get_all(account_id, |page| {
            LeadsQuery {
                page: Some(page),
                ..query.clone()
            }
            .to_path()
        })
        .await?;
    // Filters may be ignored by accounts without filter access (§1.4), so the rule is re-checked here.
    for lead in leads.iter().filter(|lead| needs_follow_up(lead)) {
        let closed = lead.closed_at.unwrap_or(lead.updated_at);
        let job = NewJob::now(
            account_id,
            LEAD_RECONCILE,
            serde_json::json!({ "lead_id": lead.id }),
        )
        .dedup(format!("reconcile:{account_id}:{}:{closed}", lead.id));
        queue::enqueue(&ctx.db.pool, &job).await.map_err(internal)?;
    }
    accounts::set_synced_at(&ctx.db, account_id, started)
        .await
        .map_err(internal)
}

/// Whether a lead is lost with no open task (and so gets a follow-up).
fn needs_follow_up(lead: &Lead) -> bool {
    !lead.is_deleted && lead.status_id == STATUS_LOST && lead.closest_task_at.is_none()
}

/// The account's time zone from the tz database, Moscow time when unknown (amoCRM's default).
pub enum AccountZone {
    Named(jiff::tz::TimeZone),
    Fixed(FixedOffset),
}

impl AccountZone {
    pub fn new(name: Option<&str>) -> AccountZone {
        match name.and_then(|name| jiff::tz::TimeZone::get(name).ok()) {
            Some(zone) => AccountZone::Named(zone),
            None => AccountZone::Fixed(FixedOffset(3 * 3600)),
        }
    }
}

impl UtcOffset for AccountZone {
    fn offset_seconds_at(&self, utc_seconds: i64) -> i32 {
        match self {
            AccountZone::Named(zone) => jiff::Timestamp::from_second(utc_seconds)
                .map(|instant| zone.to_offset(instant).seconds())
                .unwrap_or(0),
            AccountZone::Fixed(offset) => offset.offset_seconds_at(utc_seconds),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_come_from_the_tz_database_with_a_moscow_fallback() {
        // 2026-07-01T00:00:00Z: New York is on daylight time (UTC−4).
        let summer = 1_782_864_000;
        assert_eq!(
            AccountZone::new(Some("America/New_York")).offset_seconds_at(summer),
            -4 * 3600
        );
        assert_eq!(
            AccountZone::new(Some("Europe/Moscow")).offset_seconds_at(summer),
            3 * 3600
        );
        assert_eq!(
            AccountZone::new(Some("Not/AZone")).offset_seconds_at(summer),
            3 * 3600
        );
        assert_eq!(AccountZone::new(None).offset_seconds_at(summer), 3 * 3600);
    }

    #[test]
    fn only_lead_related_events_reconcile() {
        let event = |entity, action, lead_id| Event {
            entity,
            action,
            id: 7,
            modified: None,
            account_id: None,
            status_id: None,
            old_status_id: None,
            pipeline_id: None,
            responsible_user_id: None,
            old_responsible_user_id: None,
            lead_id,
            completed: None,
        };
        use crate::webhook::parser::Entity::{Lead, Task};
        assert_eq!(event_lead(&event(Lead, Action::Status, None)), Some(7));
        assert_eq!(event_lead(&event(Lead, Action::Delete, None)), None);
        assert_eq!(event_lead(&event(Task, Action::Update, Some(9))), Some(9));
        assert_eq!(event_lead(&event(Task, Action::Delete, None)), None);
    }
}
